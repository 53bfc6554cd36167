"""What a series of N-of-1 trials scores in each period (``[trial.n_of_1]``).

* ``instrument`` (default): the endpoint's instrument at the end of each period,
  over its recall window (the FSS's 7 days).
* ``diary``: the patient's daily diary NRS (0-10) averaged over each period's
  observed days after a wash-in (:mod:`mssim.trial.diary`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from mssim.config.strict import Strict


class NOf1Scoring(Strict):
    """How each period of an N-of-1 series is scored."""

    period_score: Literal["instrument", "diary"] = Field(
        "instrument",
        description="instrument: the endpoint's instrument at the end of each period; "
        "diary: the mean daily diary NRS over the period's observed days after the wash-in.",
    )
    wash_in_days: int = Field(
        7,
        ge=0,
        le=364,
        description="Days at the start of each period left out of the diary mean, while the "
        "new treatment builds up and the last one's carry-over fades (A).",
    )


#: Registered N-of-1 designs are named ``n_of_1_<cycles>`` (:mod:`mssim.trial.designs.n_of_1`).
DESIGN_PREFIX = "n_of_1_"


def is_n_of_1(design: str) -> bool:
    """Whether a design name is a series of N-of-1 trials."""
    return design.startswith(DESIGN_PREFIX)


def scores_diary(trial: Any) -> bool:
    """Whether a ``trial`` table scores the periods of an N-of-1 series by the daily diary."""
    return is_n_of_1(trial.design) and trial.n_of_1.period_score == "diary"


def inert_n_of_1(design: str) -> str:
    """Why ``trial.n_of_1`` changes nothing for a design that is not an N-of-1 series."""
    return (
        f"trial.n_of_1 is used by the n_of_1 designs only; given design {design!r}: set "
        "trial.design = 'n_of_1_2', 'n_of_1_3' or 'n_of_1_4', or remove the table"
    )
