"""The matched null: a scenario's own null, simulated with the same random numbers.

The null of a scenario keeps everything but the treatment's own effect: the
specific effect of every verum arm is set to zero. Where the primary contrast
compares two needled arms (verum against sham), the verum arm also takes its
comparator's blinding (``guess_verum``, ``guess_dont_know``) and adverse-event
risks where they differ, because unblinding and needling risks that differ
between the arms are real differences of their own (a true effect of about 0.04
FSS points with ``guess_verum`` 0.6 against 0.45) and a null that kept them would
not be null. The two arms then
differ in name only, and the primary contrast's true effect is exactly zero.

Against an arm without needles (usual care, waitlist) the null still carries
the non-specific effect of needling; :attr:`MatchedNull.true_effect` then is
not zero and the type I error is not defined (:attr:`MatchedNull.defined`).

The null runs under the scenario's own seed, so replicate r draws the same
cohort, noise and randomization as in the scenario (common random numbers):
the difference between the two runs is the treatment effect, not Monte Carlo
noise. (Where the null changes the verum's adverse-event risk, the dropout
hazard, calibrated over all arms by :mod:`mssim.model.dropout`, moves with it,
so a few patients of other arms drop out on other days.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mssim.config.load import with_overrides
from mssim.config.scenario import Scenario
from mssim.montecarlo.power import estimate
from mssim.montecarlo.sample_size import primary_curve

#: Arm fields the verum arm takes from a needled comparator in the null.
BLINDING = ("guess_verum", "guess_dont_know")


def null_overrides(scenario: Scenario) -> dict[str, Any]:
    """The dotted fields that turn a scenario into its own null, with their values.

    Args:
        scenario: The scenario.

    Returns:
        ``{"arms.<arm>.<field>": value}``: zero specific effect for every verum
        arm; for a primary contrast of two needled arms, the comparator's
        blinding and adverse-event risks for the treatment arm where they differ.
    """
    values: dict[str, Any] = {
        f"arms.{name}.specific_effect": 0.0
        for name, arm in scenario.arms.items()
        if arm.specific_effect
    }
    treated, comparator = scenario.contrasts()[0]
    arm, other = scenario.arms[treated], scenario.arms[comparator]
    if arm.kind.needled and other.kind.needled:
        wanted = {field: getattr(other, field) for field in BLINDING}
        for event, risk in arm.adverse_events.items():
            matched = other.adverse_events.get(event)
            wanted[f"adverse_events.{event}.per_patient"] = matched.per_patient if matched else 0.0
            if risk.per_patient == wanted[f"adverse_events.{event}.per_patient"]:
                del wanted[f"adverse_events.{event}.per_patient"]
        for field, value in wanted.items():
            if field in BLINDING and getattr(arm, field) == value:
                continue
            values[f"arms.{treated}.{field}"] = value
    return values


def null_scenario(scenario: Scenario) -> Scenario:
    """The scenario's own null (:func:`null_overrides`), validated, same seed."""
    return with_overrides(
        scenario, source=f"the null of scenario {scenario.name!r}", values=null_overrides(scenario)
    )


@dataclass(frozen=True)
class MatchedNull:
    """Type I error of the chosen analysis under the scenario's own null.

    Attributes:
        overrides: The fields changed to make the null (:func:`null_overrides`).
        curve: Operating characteristics of the null, primary endpoint, contrast
            and analysis, one row per n per arm.
        true_effect: True effect of the primary contrast under the null
            (estimand units); 0 when the arms differ in name only.
        defined: Whether the type I error is defined (the true effect is
            negligible: within 2 MCSE of 0, ``true_null`` of the power table).
        undefined_reason: Why it is not defined (None when it is), one clause.
    """

    overrides: dict[str, Any]
    curve: pd.DataFrame
    true_effect: float
    defined: bool
    undefined_reason: str | None

    def at(self, n_per_arm: int) -> pd.Series:
        """The null's row at ``n_per_arm`` (the nearest n simulated)."""
        distance = (self.curve.n_per_arm - n_per_arm).abs()
        return self.curve.loc[distance.idxmin()]

    def as_dict(self) -> dict[str, object]:
        """Plain data for ``matched_null.json``."""
        return {
            "overrides": self.overrides,
            "true_effect": self.true_effect,
            "defined": self.defined,
            "undefined_reason": self.undefined_reason,
            "alpha_rows": [
                {
                    "n_per_arm": int(row.n_per_arm),
                    "type_i_error": float(row.power),
                    "mcse": float(row.power_mcse),
                    "ci_low": float(row.power_ci_low),
                    "ci_high": float(row.power_ci_high),
                    "replicates": int(row.replicates),
                }
                for row in self.curve.itertuples()
            ],
        }

    def sentence(self, n_per_arm: int, alpha: float) -> str:
        """One line for the terminal, at ``n_per_arm``."""
        if not self.defined:
            return (
                "Matched null (no specific effect): type I error not defined: "
                f"{self.undefined_reason}."
            )
        row = self.at(n_per_arm)
        level = f"nominal {alpha:g}"
        threshold = row.get("decision_threshold", math.nan)
        if not math.isnan(threshold):  # a Bayesian rule: its prior sets its type I error
            level = (
                f"a Bayesian rule deciding at P(benefit | data) > {threshold:g}: no nominal level"
            )
        return (
            f"Matched null (no specific effect, same random numbers): type I error "
            f"{row.power:.3f} ± {row.power_mcse:.3f} MCSE at n = {int(row.n_per_arm)} per arm "
            f"({level}; {int(row.replicates)} replicates)."
        )


def matched_null(
    scenario: Scenario,
    n_per_arm: list[int],
    replicates: int,
    analysis: str | None = None,
    **run: Any,
) -> MatchedNull:
    """Simulate the scenario's own null with the scenario's random numbers.

    Args:
        scenario: The scenario (its seed is kept).
        n_per_arm: Design points (patients per allocation unit).
        replicates: Replicate trials per design point (as in the run).
        analysis: The analysis whose type I error is reported; default ``trial.analysis``.
        **run: Passed to :func:`~mssim.montecarlo.power.estimate` (n_jobs,
            backend, progress, ...).

    Returns:
        The null's type I error by n per arm.
    """
    null = null_scenario(scenario)
    frame = estimate(
        null,
        n_per_arm,
        replicates,
        analyses=[analysis or scenario.trial.analysis],
        **run,
    )
    curve = primary_curve(frame)
    true_effect, defined = float(curve.true_effect.iloc[0]), bool(curve.true_null.all())
    reason = None if defined else undefined_reason(curve.iloc[0], true_effect)
    return MatchedNull(null_overrides(scenario), curve, true_effect, defined, reason)


def undefined_reason(row: pd.Series, true_effect: float) -> str:
    """Why the null's rejections are not a type I error: its hypothesis is false there.

    Args:
        row: The null's power-table row (``hypothesis``, ``null_value``).
        true_effect: The primary contrast's true effect under the null (estimand units).
    """
    if row.hypothesis == "non_inferiority":
        return (
            f"a true effect of {true_effect:.3g} lies on the non-inferior side of the margin "
            f"(the null is {row.null_value:+.3g} or worse), so rejecting there is power; "
            "'mssim selfcheck' tests the non-inferiority test at its margin"
        )
    return (
        f"with no specific effect the primary contrast still has a true effect of "
        f"{true_effect:.3g} (the non-specific effect of needling against an arm without needles)"
    )
