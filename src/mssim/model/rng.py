"""The seed tree: every random draw of the model comes from a stream made here.

One root seed per run. Replicate ``r`` and purpose ``p`` get the SeedSequence
child with spawn key ``(r, p)``, so a replicate's draws do not depend on how
replicates are chunked, which process runs them, or which other purposes draw.
Every purpose draws once per replicate, patient-major (first axis = patient),
so the first n patients of a larger trial are exactly the smaller trial.
"""

from __future__ import annotations

import numpy as np

PURPOSES = (
    "enrolment",  # candidates' traits, run-in noise, screening measurement
    "symptoms",  # daily fluctuation, drift and mediator noise after screening
    "relapses",  # relapse times, severities, residual deficits
    "response",  # responder status, response modifier, expectation, arm guesses
    "practitioners",  # practitioners' own effects
    "behaviour",  # attendance, adverse events, dropout thresholds
    "measurement",  # instrument error at visits
    "diary",  # daily diary error (only when daily data are kept)
    "allocation",  # randomization list
    "literature",  # a simulated literature's study sizes, designs and publication
)


def stream(seed: int, replicate: int, purpose: str) -> np.random.Generator:
    """The generator for one (replicate, purpose) pair of a run.

    Args:
        seed: Root seed of the run.
        replicate: Replicate index (0-based).
        purpose: One of :data:`PURPOSES`.

    Returns:
        A PCG64 generator that no other pair shares.
    """
    key = (int(replicate), PURPOSES.index(purpose))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def normals(seed: int, replicates: np.ndarray, purpose: str, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal draws for several replicates, stacked on a first axis.

    Args:
        seed: Root seed of the run.
        replicates: Replicate indices of the chunk.
        purpose: One of :data:`PURPOSES`.
        shape: Per-replicate shape; its first axis must be the patient axis.

    Returns:
        Array of shape ``(len(replicates), *shape)``.
    """
    out = np.empty((len(replicates), *shape))
    for i, r in enumerate(replicates):
        stream(seed, r, purpose).standard_normal(out=out[i])
    return out


def day_major_normals(
    seed: int,
    replicates: np.ndarray,
    purpose: str,
    patients: int,
    days: int,
    channels: int,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Daily standard normals drawn patient-major, stored day-major.

    Each replicate draws ``(patients, days, channels)`` (so the prefix
    property holds) into one reused buffer, which is then laid out as
    ``(days, replicate x patient, channels)`` so that a day's noise is
    contiguous for the daily loop.

    Args:
        seed: Root seed of the run.
        replicates: Replicate indices of the chunk.
        purpose: One of :data:`PURPOSES`.
        patients: Patients per replicate.
        days: Days per patient.
        channels: Normals per patient-day.
        out: An array of the right shape to fill (saves allocating one), or None.

    Returns:
        Array of shape ``(days, len(replicates) * patients, channels)``.
    """
    shape = (days, len(replicates) * patients, channels)
    if out is None or out.shape != shape:
        out = np.empty(shape)
    buffer = np.empty((patients, days, channels))
    for i, r in enumerate(replicates):
        stream(seed, r, purpose).standard_normal(out=buffer)
        out[:, i * patients : (i + 1) * patients] = buffer.transpose(1, 0, 2)
    return out
