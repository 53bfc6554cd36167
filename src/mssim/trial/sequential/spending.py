"""Error-spending functions: the share of alpha (or beta) spent by information fraction t.

Each family maps an information fraction ``t`` in [0, 1] to the cumulative error
spent, ``f(0) = 0`` and ``f(1) = total``:

* ``obrien_fleming``: Lan and DeMets (1983) O'Brien-Fleming type,
  ``2 (1 - Phi(z_{1 - total/2} / sqrt(t)))`` (rpact ``asOF``, gsDesign ``sfLDOF``);
* ``pocock``: Lan and DeMets (1983) Pocock type, ``total log(1 + (e - 1) t)``
  (rpact ``asP``, gsDesign ``sfLDPocock``);
* ``hsd``: Hwang, Shih and DeCani (1990) with parameter gamma,
  ``total (1 - exp(-gamma t)) / (1 - exp(-gamma))`` (``total t`` at gamma 0;
  rpact ``asHSD``, gsDesign ``sfHSD``);
* ``kim_demets``: Kim and DeMets (1987) power family with parameter rho,
  ``total t**rho`` (rpact ``asKD``, gsDesign ``sfPower``).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

from mssim.config.trial import SPENDING_FAMILIES as SPENDING


def spent(family: str, t: np.ndarray, total: float, parameter: float = 0.0) -> np.ndarray:
    """Cumulative error spent by information fraction ``t``.

    Args:
        family: One of :data:`SPENDING`.
        t: Information fractions (clipped to [0, 1]).
        total: Error spent at ``t = 1`` (one-sided alpha, or beta).
        parameter: gamma of ``hsd``, rho (> 0) of ``kim_demets``; unused otherwise.

    Returns:
        The cumulative error spent, same shape as ``t``.

    Raises:
        ValueError: For an unknown family.
    """
    from mssim.model import libm  # here, so validating a scenario never loads numba

    t = np.clip(np.asarray(t, dtype=float), 0.0, 1.0)
    if family == "obrien_fleming":
        with np.errstate(divide="ignore"):
            return 2.0 * norm.sf(norm.isf(total / 2.0) / np.sqrt(t))
    if family == "pocock":
        return total * libm.log1p((math.e - 1.0) * t)
    if family == "hsd":
        if parameter == 0.0:
            return total * t
        return total * -libm.expm1(-parameter * t) / -math.expm1(-parameter)
    if family == "kim_demets":
        return total * libm.power(t, parameter)
    raise ValueError(f"unknown spending family {family!r}; allowed: {', '.join(SPENDING)}")
