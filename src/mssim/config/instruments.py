"""The instrument registry: published scales, their score grids and their defaults.

Each symptom has a latent daily severity on a 0-10 numeric rating scale (NRS;
higher is worse). An instrument maps the mean of the latent severity over its
recall window onto its own range, rounded to its grid of possible scores.

Choosing an instrument for a symptom brings the instrument's own reference SD,
minimal clinically important difference (MCID), measurement SD and screening
cut-off, each with its source; a scenario that sets one of these outside the
instrument's plausible range is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from mssim.config.citations import CALIBRATED, PUBLISHED, Source, assumed
from mssim.registry import INSTRUMENTS


@dataclass(frozen=True)
class Instrument:
    """A published instrument.

    Attributes:
        name: Registry name, as written in scenario files (``fss``).
        label: Name shown in tables and figures.
        low: Lowest possible score (instrument points).
        high: Highest possible score (instrument points).
        recall_days: Days averaged by one administration (days).
        step: Distance between neighbouring possible scores (points): the grid.
        reference_sd: Between-patient SD at trial entry (points): converts SD effects.
        mcid: Minimal clinically important improvement (points).
        measurement_sd: SD of the instrument's own measurement error (points).
        screening_cutoff: Default lowest eligible screening score (points).
        plausible_sd: Range of reference SDs plausible for this instrument (points).
        sources: Source of each default above, by field name.
    """

    name: str
    label: str
    low: float
    high: float
    recall_days: int
    step: float
    reference_sd: float
    mcid: float
    measurement_sd: float
    screening_cutoff: float
    plausible_sd: tuple[float, float]
    sources: dict[str, Source]

    @property
    def span(self) -> float:
        """Width of the score range (points)."""
        return self.high - self.low

    def points_per_nrs(self) -> float:
        """Instrument points per point of latent 0-10 severity."""
        return self.span / 10.0

    def defaults(self) -> dict[str, float]:
        """The symptom fields this instrument sets when a scenario chooses it."""
        return {
            "reference_sd": self.reference_sd,
            "mcid": self.mcid,
            "measurement_sd": self.measurement_sd,
        }

    def implausible(self, field: str, value: float) -> str | None:
        """Why ``value`` is implausible for ``field`` on this instrument, or None."""
        if field == "reference_sd":
            low, high = self.plausible_sd
            if not low <= value <= high:
                return (
                    f"{value:g} is implausible for {self.label}: allowed {low:g} to {high:g} "
                    f"points ({self.sources['reference_sd'].source})"
                )
        elif field == "mcid" and not 0 < value <= self.span / 2:
            return (
                f"{value:g} is implausible for {self.label}: allowed above 0 "
                f"up to {self.span / 2:g} points"
            )
        elif field == "measurement_sd" and not 0 <= value <= self.span / 2:
            return (
                f"{value:g} is implausible for {self.label}: allowed 0 to {self.span / 2:g} points"
            )
        elif field == "screening_cutoff" and not self.low <= value <= self.high:
            return (
                f"{value:g} is outside the {self.label} range: allowed {self.low:g} to "
                f"{self.high:g} points"
            )
        return None


FSS = INSTRUMENTS.register(
    Instrument(
        name="fss",
        label="FSS (1-7)",
        low=1.0,
        high=7.0,
        recall_days=7,  # past week
        step=1.0 / 9.0,  # mean of 9 items scored 1-7
        reference_sd=1.2,
        mcid=0.5,
        measurement_sd=0.25,
        screening_cutoff=4.0,
        plausible_sd=(0.3, 3.0),
        sources={
            "reference_sd": Source(
                PUBLISHED, "FSS SD at trial entry 1.0-1.4 (Rammohan 2002; Learmonth 2013)"
            ),
            "mcid": Source(PUBLISHED, "FSS MCID 0.45-0.88 (Rooney 2019)"),
            "measurement_sd": assumed("part of FSS SEM 0.7 (Learmonth 2013)"),
            "screening_cutoff": Source(PUBLISHED, "entry FSS >= 4 (Rammohan 2002; Charité)"),
        },
    )
)
MFIS = INSTRUMENTS.register(
    Instrument(
        name="mfis",
        label="MFIS (0-84)",
        low=0.0,
        high=84.0,
        recall_days=28,  # past 4 weeks
        step=1.0,  # sum of 21 items scored 0-4
        reference_sd=15.0,
        mcid=4.0,
        measurement_sd=2.6,
        screening_cutoff=34.0,
        plausible_sd=(4.0, 30.0),
        sources={
            "reference_sd": Source(
                PUBLISHED, "MFIS SD about 10-20 at entry (Nourbakhsh 2021; Stankoff 2005)"
            ),
            "mcid": Source(PUBLISHED, "MFIS MCID 3.9-8.1 (Rooney 2019)"),
            "measurement_sd": assumed(
                "the share of MFIS SEM 7.3 (Learmonth 2013) that FSS's measurement SD is of its SEM"
            ),
            "screening_cutoff": Source(PUBLISHED, "entry MFIS > 33 (Nourbakhsh 2021)"),
        },
    )
)
NRS = INSTRUMENTS.register(
    Instrument(
        name="nrs",
        label="NRS (0-10)",
        low=0.0,
        high=10.0,
        recall_days=7,  # average over the past week
        step=1.0,
        reference_sd=2.3,
        mcid=2.0,
        measurement_sd=0.3,
        screening_cutoff=4.0,
        plausible_sd=(0.5, 4.0),
        sources={
            "reference_sd": Source(PUBLISHED, "NRS SD 2.3 (Ehde 2003)"),
            "mcid": Source(PUBLISHED, "2 points or 30% (Farrar 2001)"),
            "measurement_sd": assumed(),
            "screening_cutoff": assumed("moderate severity, NRS >= 4"),
        },
    )
)
PSQI = INSTRUMENTS.register(
    Instrument(
        name="psqi",
        label="PSQI (0-21)",
        low=0.0,
        high=21.0,
        recall_days=30,  # past month
        step=1.0,
        reference_sd=2.8,
        mcid=3.0,
        measurement_sd=1.0,
        screening_cutoff=6.0,
        plausible_sd=(0.8, 7.0),
        sources={
            "reference_sd": Source(PUBLISHED, "PSQI SD 2.8 (Sarraf 2014)"),
            "mcid": assumed("no MS-specific PSQI MCID found"),
            "measurement_sd": assumed("PSQI test-retest r = 0.87, not in MS (Backhaus 2002)"),
            "screening_cutoff": Source(CALIBRATED, "poor sleep is PSQI > 5 (Buysse 1989)"),
        },
    )
)
