"""Test plug-in: Welch's t-test on the endpoint score itself (not its change)."""

from mssim.registry import ANALYSES
from mssim.trial.analyses.analysis import Analysis
from mssim.trial.analyses.estimates import Estimates
from mssim.trial.analyses.welch import welch_change
from mssim.trial.data import TrialData


def _welch_outcome(data: TrialData, treatment: int, comparator: int, alpha: float) -> Estimates:
    observed, arm = data.contrast(treatment, comparator)
    return welch_change(data.outcome, arm, observed, alpha)


ANALYSES.register(
    Analysis(
        name="welch_outcome",
        estimand="mean_difference",
        wording="Welch's t-test on the endpoint score",
        function=_welch_outcome,
    )
)
