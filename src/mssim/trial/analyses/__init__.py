"""The analysis registry's built-in analyses.

Each module defines one analysis, vectorized over replicate trials, and
registers it into :data:`mssim.registry.ANALYSES` with its effect measure, the
designs and estimand strategies it fits and its wording. A user's plug-in
registers its own the same way (see ``docs/extending.md``).
"""

from mssim.trial.analyses import (
    ancova,
    ancova_cluster,
    bayesian,
    crossover,
    mann_whitney,
    mmrm,
    n_of_1,
    responder,
    welch,
)

__all__ = [
    "ancova",
    "ancova_cluster",
    "bayesian",
    "crossover",
    "mann_whitney",
    "mmrm",
    "n_of_1",
    "responder",
    "welch",
]
