"""Power of a series of N-of-1 trials as a function of patients and cycles per patient.

Each number of cycles k is its own design (``n_of_1_k``,
:mod:`mssim.trial.designs.n_of_1`) whose ``n_per_arm`` counts patients per
sequence, so a series of P patients is ``n_per_arm = P / 2**k``. Each k is one
:func:`mssim.montecarlo.power.estimate` over every patient count, so patient
counts share common random numbers within a k.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from mssim.config.load import with_overrides
from mssim.config.scenario import Scenario
from mssim.errors import MssimError
from mssim.montecarlo.power import estimate
from mssim.trial.designs.n_of_1 import CYCLES, sequences


def power_by_patients_and_cycles(
    scenario: Scenario, patients: list[int], cycles: list[int], **run: Any
) -> pd.DataFrame:
    """Operating characteristics of N-of-1 series over patients x cycles.

    Args:
        scenario: A scenario (its design is replaced by ``n_of_1_k`` for each k).
        patients: Patients per series; each a multiple of ``2**k`` with at least 2
            patients per sequence, for every k.
        cycles: Cycles per patient, each in :data:`mssim.trial.designs.n_of_1.CYCLES`.
        **run: Passed to :func:`mssim.montecarlo.power.estimate` (replicates, n_jobs, ...).

    Returns:
        The rows of :func:`mssim.montecarlo.power.estimate` with ``cycles`` and
        ``patients`` in front.

    Raises:
        MssimError: For a number of cycles without a design, or a patient count that
            does not split into at least 2 patients per sequence.
    """
    frames = []
    for k in cycles:
        if k not in CYCLES:
            raise MssimError(f"cycles: {k} has no design; allowed: {', '.join(map(str, CYCLES))}")
        per = sequences(k)
        bad = [p for p in patients if p % per or p // per < 2]
        if bad:
            raise MssimError(
                f"patients: {', '.join(map(str, bad))} cannot be split into {per} sequences of "
                f"at least 2 patients ({k} cycles); allowed: multiples of {per} from {2 * per}"
            )
        cell = with_overrides(
            scenario, values={"trial.design": f"n_of_1_{k}"}, source=f"N-of-1 series, {k} cycles"
        )
        frame = estimate(cell, n_per_arm=[p // per for p in patients], **run)
        frame.insert(0, "cycles", k)
        frame.insert(1, "patients", frame["n_per_arm"] * per)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
