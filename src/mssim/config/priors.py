"""Priors on scenario fields, for assurance (the probability of success over a prior).

A scenario's ``[priors]`` table maps a dotted numeric field (as for ``--set``)
to a distribution::

    [priors."arms.acupuncture.specific_effect"]
    distribution = "normal"
    mean = 0.15
    sd = 0.08

Distributions and their parameters (in the field's own units):

* ``normal``: ``mean``, ``sd`` (``sd = 0`` is a point mass at ``mean``);
* ``truncated_normal``: ``mean``, ``sd`` > 0 of the untruncated normal, kept to
  ``[low, high]``;
* ``beta``: shapes ``alpha``, ``beta``, stretched to ``[low, high]`` (default 0 to 1);
* ``uniform``: ``low`` to ``high``.

A prior's centre is its mean (for a truncated normal, the mean after
truncation). Values are drawn by inversion from one standard normal per
replicate and field, so a replicate's draw is a pure function of its key
(:mod:`mssim.montecarlo.assurance`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator
from scipy.special import ndtr
from scipy.stats import beta as beta_distribution
from scipy.stats import truncnorm

from mssim.config.strict import Strict

_PARAMETERS = {
    "normal": ({"mean", "sd"}, set()),
    "truncated_normal": ({"mean", "sd", "low", "high"}, set()),
    "beta": ({"alpha", "beta"}, {"low", "high"}),
    "uniform": ({"low", "high"}, set()),
}
#: A normal prior's support is checked against the field's range at mean +- this many SD
#: (a draw beyond it has probability about 2e-9 per replicate).
NORMAL_REACH_SD = 6.0


class Prior(Strict):
    """A prior distribution on one numeric scenario field (units of the field)."""

    distribution: Literal["normal", "truncated_normal", "beta", "uniform"] = Field(
        description="Family: normal, truncated_normal, beta or uniform."
    )
    mean: float | None = Field(None, ge=-1e6, le=1e6, description="Mean of the normal.")
    sd: float | None = Field(None, ge=0.0, le=1e6, description="SD of the normal.")
    low: float | None = Field(None, ge=-1e6, le=1e6, description="Lower end of the support.")
    high: float | None = Field(None, ge=-1e6, le=1e6, description="Upper end of the support.")
    alpha: float | None = Field(None, gt=0.0, le=1e4, description="Beta shape alpha.")
    beta: float | None = Field(None, gt=0.0, le=1e4, description="Beta shape beta.")

    @model_validator(mode="after")
    def _parameters_fit(self) -> Prior:
        required, optional = _PARAMETERS[self.distribution]
        given = {
            k
            for k in ("mean", "sd", "low", "high", "alpha", "beta")
            if getattr(self, k) is not None
        }
        missing, extra = required - given, given - required - optional
        if missing or extra:
            allowed = ", ".join(sorted(required)) + (
                f" (optional {', '.join(sorted(optional))})" if optional else ""
            )
            raise ValueError(
                f"a {self.distribution} prior takes {allowed}; "
                + (f"missing {', '.join(sorted(missing))}" if missing else "")
                + ("; " if missing and extra else "")
                + (f"not used: {', '.join(sorted(extra))}" if extra else "")
            )
        low, high = self.support()
        if self.distribution != "normal" and not low <= high:
            raise ValueError(f"low must not exceed high; given low {low}, high {high}")
        if self.distribution in ("truncated_normal", "beta") and not low < high:
            raise ValueError(f"low must be below high; given low {low}, high {high}")
        if self.distribution == "truncated_normal" and not self.sd:
            raise ValueError("a truncated_normal prior needs sd > 0; use normal with sd = 0")
        return self

    def support(self) -> tuple[float, float]:
        """The values a draw can take (a normal: mean +- :data:`NORMAL_REACH_SD` SD)."""
        if self.distribution == "normal":
            reach = NORMAL_REACH_SD * float(self.sd)
            return (float(self.mean) - reach, float(self.mean) + reach)
        low = 0.0 if self.low is None else float(self.low)
        high = 1.0 if self.high is None else float(self.high)
        return (low, high)

    def centre(self) -> float:
        """The prior mean (field units)."""
        low, high = self.support()
        if self.distribution == "normal":
            return float(self.mean)
        if self.distribution == "truncated_normal":
            a, b = self._standard_bounds()
            return float(truncnorm.mean(a, b, loc=self.mean, scale=self.sd))
        if self.distribution == "beta":
            return low + (high - low) * float(self.alpha / (self.alpha + self.beta))
        return (low + high) / 2

    def from_normal(self, z: np.ndarray) -> np.ndarray:
        """Prior draws by inversion from standard normal deviates.

        Args:
            z: Standard normal deviates (any shape).

        Returns:
            ``mean + sd * z`` for a normal prior (exactly ``mean`` when ``sd = 0``);
            otherwise the prior's quantile function at ``Phi(z)``.
        """
        if self.distribution == "normal":
            return self.mean + self.sd * z
        u = ndtr(z)
        low, high = self.support()
        if self.distribution == "truncated_normal":
            a, b = self._standard_bounds()
            return np.clip(truncnorm.ppf(u, a, b, loc=self.mean, scale=self.sd), low, high)
        if self.distribution == "beta":
            return low + (high - low) * beta_distribution.ppf(u, self.alpha, self.beta)
        return low + (high - low) * u

    def _standard_bounds(self) -> tuple[float, float]:
        return ((self.low - self.mean) / self.sd, (self.high - self.mean) / self.sd)
