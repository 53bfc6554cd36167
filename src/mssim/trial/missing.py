"""Missing-data rules applied to visit scores before the endpoint is formed."""

from __future__ import annotations

import numpy as np


def locf(values: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Last observation carried forward over visits.

    Args:
        values: Outcomes, shape (R, N, V); visit 0 is baseline.
        observed: True where a visit was observed, shape (R, N, V).

    Returns:
        ``(values, observed)`` after imputation: every missing visit that follows an
        observed one takes the latest observed value and becomes observed. Visits before
        a patient's first observation are left as they were (and stay unobserved).
    """
    observed = np.asarray(observed, dtype=bool)
    values = np.asarray(values)
    index = np.where(observed, np.arange(observed.shape[-1]), -1)
    source = np.maximum.accumulate(index, axis=-1)
    filled = source >= 0
    carried = np.take_along_axis(values, np.maximum(source, 0), axis=-1)
    return np.where(filled, carried, values), filled


def bocf(values: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Baseline observation carried forward into every missing post-baseline visit.

    Args:
        values: Outcomes, shape (R, N, V); visit 0 is baseline.
        observed: True where a visit was observed, shape (R, N, V).

    Returns:
        ``(values, observed)`` after imputation. Patients without an observed baseline
        are left unchanged.
    """
    observed = np.asarray(observed, dtype=bool)
    values = np.asarray(values)
    impute = ~observed & observed[..., :1]
    return np.where(impute, values[..., :1], values), observed | impute
