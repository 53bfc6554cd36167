"""Teaching demonstrations: why small, unblinded, flexibly analysed trials mislead.

Each function runs a small simulation (seconds with its defaults) and returns
``(data, figure)``: a tidy :class:`pandas.DataFrame` and a matplotlib
:class:`~matplotlib.figure.Figure` (drawn on ``ax`` when given, never shown).
Effects are treatment minus comparator in points of the endpoint's
instrument; symptom scores are "higher is worse", so a benefit is negative.
Monte Carlo standard errors (MCSE) come with every rate; error bars are
±2 MCSE.

The demonstrations reuse the Monte Carlo core (:mod:`mssim.montecarlo.power`) with
common random numbers: every variant of a demonstration draws the same
patients and noise, so differences between variants are not Monte Carlo
noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mssim.config.load import with_overrides
from mssim.config.scenario import Scenario
from mssim.errors import MssimError
from mssim.literature.field import trial_scenario
from mssim.model.engine import simulate
from mssim.montecarlo.power import chunk_statistics, estimate, summarize
from mssim.outputs.figures.power import power_curve
from mssim.trial.analyses.welch import welch_change
from mssim.trial.data import trial_data
from mssim.trial.endpoints import primary_visit
from mssim.trial.multiplicity import adjust_pvalues
from mssim.trial.randomization import contrast_regimens, randomize, total_patients

MISSING_DATA = ("complete_case", "locf", "bocf")
EXTRA_SYMPTOMS = ("spasticity", "bladder", "cognition")  # off by default; each adds an endpoint
NEEDLED = ("acupuncture", "sham", "bee_venom")


def _axes(ax: Axes | None, size: tuple[float, float] = (7.0, 4.2)) -> tuple[Figure, Axes]:
    """The given axes and its figure, or a new pyplot-free figure."""
    if ax is not None:
        return ax.get_figure(root=True), ax
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def _first(frame: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Rows of the primary endpoint and the first contrast."""
    first = " - ".join(scenario.contrasts()[0])
    keep = (frame.endpoint == scenario.trial.primary_endpoint) & (frame.contrast == first)
    return frame[keep].reset_index(drop=True)


def _verum(scenario: Scenario) -> str:
    """Name of the acupuncture arm."""
    for name, arm in scenario.arms.items():
        if arm.intervention == "acupuncture":
            return name
    raise MssimError(
        f"scenario {scenario.name!r}: arms: needs an arm with intervention = 'acupuncture'"
    )


def _points(scenario: Scenario, endpoint: str | None = None) -> str:
    """Unit label such as ``FSS points``."""
    name = endpoint or scenario.trial.primary_endpoint
    return f"{getattr(scenario.symptoms, name).instrument.upper()} points"


def _errorbars(
    ax: Axes, x: np.ndarray | pd.Series, y: pd.Series, mcse: pd.Series, **style: object
) -> None:
    """Points with ±2 MCSE bars."""
    ax.errorbar(x, y, yerr=2 * mcse, capsize=3, marker="o", **style)


# ---------------------------------------------------------------------------- 1


def significance_filter(
    scenario: Scenario,
    n_per_arm: Sequence[int] = (10, 20, 40, 80),
    replicates: int = 300,
    ax: Axes | None = None,
) -> tuple[pd.DataFrame, Figure]:
    """Significant small trials exaggerate the effect (type M error).

    Only significant results are counted; at small n only estimates far
    larger than the truth reach significance, so their mean |estimate|
    exceeds |true effect| several times (Gelman & Carlin 2014).

    Args:
        scenario: The scenario (its primary endpoint, first contrast and analysis).
        n_per_arm: Trial sizes (patients per arm).
        replicates: Trials per size.
        ax: Axes to draw on, or None for a new figure.

    Returns:
        One row per n: ``power``, ``exaggeration`` (ratio) with MCSE,
        ``type_s``, ``true_effect`` (points); and exaggeration against n.
    """
    frame = _first(estimate(scenario, list(n_per_arm), replicates, progress=False), scenario)
    fig, ax = _axes(ax)
    _errorbars(ax, frame.n_per_arm, frame.exaggeration, frame.exaggeration_mcse, color="C3")
    for row in frame.itertuples():
        ax.annotate(
            f"power {row.power:.0%}",
            (row.n_per_arm, row.exaggeration),
            textcoords="offset points",
            xytext=(6, 6),
            fontsize="small",
        )
    ax.axhline(1.0, color="0.5", ls="--", label="no exaggeration")
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(frame.n_per_arm, [str(n) for n in frame.n_per_arm])
    ax.set_xlabel("patients per arm")
    ax.set_ylabel("mean |significant estimate| / |true effect|")
    ax.set_title(
        f"Significant trials exaggerate (true effect {frame.true_effect.iloc[0]:+.2f} "
        f"{_points(scenario)}; bars ±2 MCSE)"
    )
    ax.legend(fontsize="small")
    return frame, fig


# ---------------------------------------------------------------------------- 2


def type_s_at_small_effects(
    scenario: Scenario,
    specific_effects: Sequence[float] = (0.0, 0.05, 0.1, 0.4),
    n_per_arm: int = 20,
    replicates: int = 2000,
    ax: Axes | None = None,
) -> tuple[pd.DataFrame, Figure]:
    """When the true effect is small relative to the SE, significant results get the sign wrong.

    Args:
        scenario: The scenario; ``arms.<acupuncture>.specific_effect`` is
            overridden (in the arm's ``effect_units``, SD by default).
        specific_effects: Specific effects of needling to try.
        n_per_arm: Trial size (patients per arm).
        replicates: Trials per effect. Type S counts only the significant
            trials, about 5% of them near a zero effect, so a few hundred
            trials leave a handful of significant ones and type S reads 0 by
            chance; thousands are needed.
        ax: Axes to draw on, or None for a new figure.

    Returns:
        One row per effect: ``specific_effect``, ``true_effect`` (points,
        including any unblinding), ``power``, ``type_s`` with MCSE (undefined
        at a zero specific effect, a true null under default blinding),
        ``exaggeration``; and type S against the true effect.
    """
    arm = _verum(scenario)
    rows = []
    for effect in specific_effects:
        variant = with_overrides(scenario, [f"arms.{arm}.specific_effect={effect}"])
        row = _first(estimate(variant, [n_per_arm], replicates, progress=False), scenario)
        rows.append(row.assign(specific_effect=effect))
    frame = pd.concat(rows, ignore_index=True)
    fig, ax = _axes(ax)
    _errorbars(ax, frame.true_effect.abs(), frame.type_s, frame.type_s_mcse, color="C0")
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.set_xlabel(f"|true effect| ({_points(scenario)})")
    ax.set_ylabel("share of significant results with the wrong sign")
    ax.set_title(f"Type S error at n = {n_per_arm} per arm (bars ±2 MCSE)")
    return frame, fig


# ---------------------------------------------------------------------------- 3


def regression_to_the_mean(
    scenario: Scenario,
    n_patients: int = 100,
    replicates: int = 10,
    ax: Axes | None = None,
) -> tuple[pd.DataFrame, Figure]:
    """A single-arm before-after study sees improvement without any treatment.

    Patients enrolled because a noisy entry (screening) score was high were,
    on average, measured on a bad day; later scores fall back toward their
    usual level. The demonstration follows every enrolled patient's potential
    outcome under usual care, sham and acupuncture (no missingness), with
    screening on and off (``population.screening.enabled=false``), on the
    screening symptom.

    Args:
        scenario: The scenario (acupuncture arm, sham if any, screening rule).
        n_patients: Patients per replicate cohort.
        replicates: Cohorts.
        ax: Axes to draw on, or None for a new figure.

    Returns:
        One row per (screening, arm): ``mean_entry`` (the screening score),
        ``mean_baseline``, ``mean_outcome`` (primary visit), the changes
        ``change_from_entry`` and ``change_from_baseline`` (points) with SEs
        over cohorts; and a bar chart of the change from entry, what a
        before-after study reports.
    """
    base = trial_scenario(scenario, ["sham", "usual_care"])
    symptom = base.population.screening.symptom
    rows = []
    for screening in (True, False):
        variant = with_overrides(base, [f"population.screening.enabled={str(screening).lower()}"])
        outcomes = simulate(variant, np.arange(replicates), n_patients, track=[symptom])
        primary = primary_visit(outcomes.visit_days, 7 * variant.trial.weeks)
        scores = outcomes.scores[..., 0]  # (R, N, regimens, visits)
        entry = outcomes.cohort.screening_score[..., None]
        for g, regimen in enumerate(outcomes.regimens):
            cohort_means = {
                "entry": entry[..., 0].mean(axis=1),
                "baseline": scores[:, :, g, 0].mean(axis=1),
                "outcome": scores[:, :, g, primary].mean(axis=1),
            }
            row = {"screening": "on" if screening else "off", "arm": regimen.name}
            row |= {f"mean_{k}": float(v.mean()) for k, v in cohort_means.items()}
            for start in ("entry", "baseline"):
                change = cohort_means["outcome"] - cohort_means[start]
                row[f"change_from_{start}"] = float(change.mean())
                row[f"change_from_{start}_se"] = float(change.std(ddof=1) / math.sqrt(replicates))
            rows.append(row)
    frame = pd.DataFrame(rows)
    fig, ax = _axes(ax)
    arms = list(dict.fromkeys(frame.arm))
    x = np.arange(len(arms))
    for shift, (label, sub) in zip(
        (-0.2, 0.2), frame.groupby("screening", sort=False), strict=True
    ):
        ax.bar(
            x + shift,
            sub.change_from_entry,
            width=0.4,
            yerr=2 * sub.change_from_entry_se,
            capsize=3,
            label=f"screening {label}",
        )
    ax.axhline(0.0, color="0.3", lw=0.8)
    ax.set_xticks(x, arms)
    ax.set_ylabel(f"mean change from entry score ({_points(base, symptom)})")
    ax.set_title("Before-after change of the same patients under each arm (bars ±2 SE)")
    ax.legend(fontsize="small")
    return frame, fig


# ---------------------------------------------------------------------------- 4


def open_label_vs_sham(
    scenario: Scenario,
    n_per_arm: Sequence[int] = (20, 40, 80),
    replicates: int = 200,
    ax: Axes | None = None,
) -> tuple[pd.DataFrame, Figure]:
    """The same acupuncture arm looks better against usual care than against sham.

    A three-arm trial (acupuncture, sham, usual care; ``trial.multiplicity =
    none``) on the same patients: acupuncture - usual care adds the
    non-specific effect of expectation and ritual to the specific effect
    that acupuncture - sham isolates.

    Args:
        scenario: The scenario (see :func:`mssim.literature.field.trial_scenario`).
        n_per_arm: Trial sizes (patients per arm).
        replicates: Trials per size.
        ax: Axes to draw on, or None for a new figure.

    Returns:
        The power frame of both contrasts (``true_effect``, ``mean_estimate``,
        ``power`` per n); and the power curves with true effects in the legend.
    """
    three = with_overrides(
        trial_scenario(scenario, ["sham", "usual_care"]), ["trial.multiplicity=none"]
    )
    frame = estimate(three, list(n_per_arm), replicates, progress=False)
    frame = frame[frame.endpoint == three.trial.primary_endpoint].reset_index(drop=True)
    return frame, power_curve(frame, target=three.power.target, ax=ax)


# ---------------------------------------------------------------------------- 5


def multiple_endpoints(
    scenario: Scenario,
    n_per_arm: int = 30,
    replicates: int = 400,
    ax: Axes | None = None,
) -> tuple[pd.DataFrame, Figure]:
    """Testing several endpoints without correction inflates the familywise error.

    Use a scenario without any true effect (``scenarios/null_effect.toml``).
    Every simulated symptom is an endpoint (fatigue, pain and sleep, plus
    spasticity, bladder and cognition switched on); the share of trials with
    at least one p < alpha among the first k endpoints is compared under
    ``trial.multiplicity = none`` and ``holm``.

    Args:
        scenario: A scenario whose true effects are zero.
        n_per_arm: Trial size (patients per arm).
        replicates: Trials.
        ax: Axes to draw on, or None for a new figure.

    Returns:
        One row per (multiplicity, n_endpoints): ``familywise_error`` with
        MCSE; and the familywise error against the number of endpoints.
    """
    on = [f"symptoms.{name}.enabled=true" for name in EXTRA_SYMPTOMS]
    symptoms = dict.fromkeys([*scenario.symptoms.active(), *EXTRA_SYMPTOMS])
    others = [s for s in symptoms if s != scenario.trial.primary_endpoint]
    listed = ", ".join(f'"{s}"' for s in others)
    wide = with_overrides(scenario, [*on, f"trial.secondary_endpoints=[{listed}]"])
    stats = chunk_statistics(wide, [n_per_arm], [wide.trial.analysis], np.arange(replicates))
    p = stats["p_value"][0, 0, :, 0].T  # (replicates, endpoints), primary first
    alpha = wide.trial.alpha
    rows = []
    for method in ("none", "holm"):
        for k in range(1, p.shape[1] + 1):
            fwer = float(adjust_pvalues(p[:, :k], method, alpha).any(axis=1).mean())
            rows.append(
                {
                    "multiplicity": method,
                    "n_endpoints": k,
                    "familywise_error": fwer,
                    "familywise_error_mcse": math.sqrt(fwer * (1 - fwer) / replicates),
                    "independent_endpoints": 1 - (1 - alpha) ** k if method == "none" else alpha,
                }
            )
    frame = pd.DataFrame(rows)
    fig, ax = _axes(ax)
    for method, sub in frame.groupby("multiplicity", sort=False):
        _errorbars(
            ax,
            sub.n_endpoints,
            sub.familywise_error,
            sub.familywise_error_mcse,
            label=f"multiplicity = {method}",
        )
    none = frame[frame.multiplicity == "none"]
    ax.plot(
        none.n_endpoints,
        none.independent_endpoints,
        ls=":",
        color="0.4",
        label="1 - (1 - alpha)^k (independent endpoints)",
    )
    ax.axhline(alpha, color="0.5", ls="--", label=f"alpha = {alpha}")
    ax.set_xlabel("endpoints tested")
    ax.set_ylabel("share of null trials with some p < alpha")
    ax.set_title(f"Familywise error without a true effect, n = {n_per_arm} per arm")
    ax.legend(fontsize="small")
    return frame, fig


# ---------------------------------------------------------------------------- 6


def baseline_imbalance(
    scenario: Scenario,
    n_per_arm: Sequence[int] = (10, 100),
    replicates: int = 200,
    ax: Axes | None = None,
) -> tuple[pd.DataFrame, Figure]:
    """Randomization balances arms only on average: small trials start unequal.

    Args:
        scenario: The scenario (first contrast, primary endpoint).
        n_per_arm: Trial sizes (patients per arm); the smaller trials are
            the first patients of the largest (same randomization list).
        replicates: Trials per size.
        ax: Axes to draw on, or None for a new figure.

    Returns:
        One row per (n_per_arm, replicate): ``difference`` (baseline mean of
        treatment minus comparator among the randomized, points) and the
        ``p_value`` of a baseline t-test (about 5% of trials "differ" at any
        n: such tests are pointless); and histograms of the differences.
    """
    outcomes = simulate(scenario, np.arange(replicates), total_patients(scenario, max(n_per_arm)))
    allocation = randomize(scenario, outcomes)
    a, b = contrast_regimens(scenario)[0]
    rows = []
    for n in n_per_arm:
        data = trial_data(
            scenario,
            outcomes,
            allocation,
            scenario.trial.primary_endpoint,
            total_patients(scenario, n),
        )
        test = welch_change(data.baseline, data.regimen == a, np.isin(data.regimen, [a, b]))
        rows.append(
            pd.DataFrame(
                {
                    "n_per_arm": n,
                    "replicate": np.arange(replicates),
                    "difference": test.estimate,
                    "p_value": test.p_value,
                }
            )
        )
    frame = pd.concat(rows, ignore_index=True)
    fig, ax = _axes(ax)
    edges = np.histogram_bin_edges(frame.difference, bins=30)
    for n, sub in frame.groupby("n_per_arm"):
        ax.hist(
            sub.difference,
            bins=edges,
            alpha=0.55,
            label=f"n = {n} per arm (SD {sub.difference.std():.2f})",
        )
    ax.axvline(0.0, color="0.3", lw=0.8)
    ax.set_xlabel(f"baseline difference, treatment - comparator ({_points(scenario)})")
    ax.set_ylabel("trials")
    ax.set_title("Baseline imbalance after randomization")
    ax.legend(fontsize="small")
    return frame, fig


# ---------------------------------------------------------------------------- 7


def locf_under_informative_dropout(
    scenario: Scenario,
    n_per_arm: int = 60,
    replicates: int = 200,
    dropout_rate: float = 0.4,
    strength: float = 2.0,
    ax: Axes | None = None,
) -> tuple[pd.DataFrame, Figure]:
    """Under missing-not-at-random dropout, complete case, LOCF and BOCF are biased differently.

    Patients whose (unobserved) symptoms worsen leave: ``dropout.mechanism =
    mnar`` with the given rate and strength. The same trials (common random
    numbers) are analysed with ``trial.missing_data`` = complete_case, locf
    and bocf; the bias is measured against the treatment-policy truth, and
    each strategy's paired difference from complete case has its own MCSE.

    Args:
        scenario: The scenario (primary endpoint, first contrast, analysis).
        n_per_arm: Trial size (patients per arm).
        replicates: Trials.
        dropout_rate: ``dropout.rate`` (share dropping out by the last visit).
        strength: ``dropout.strength`` (log hazard ratio per reference SD of worsening).
        ax: Axes to draw on, or None for a new figure.

    Returns:
        One row per strategy: ``bias`` with MCSE, ``true_effect``,
        ``mean_estimate``, ``coverage``, ``power``, ``dropout_fraction``,
        ``difference_from_complete_case`` with MCSE (points); and the bias of
        each strategy.
    """
    mnar = [
        "dropout.mechanism=mnar",
        f"dropout.rate={dropout_rate}",
        f"dropout.strength={strength}",
    ]
    analysis, reps = [scenario.trial.analysis], np.arange(replicates)
    rows, estimates = [], []
    for strategy in MISSING_DATA:
        variant = with_overrides(scenario, [*mnar, f"trial.missing_data={strategy}"])
        stats = chunk_statistics(variant, [n_per_arm], analysis, reps)
        rows.append(_first(summarize(variant, [n_per_arm], analysis, stats), scenario))
        estimates.append(stats["estimate"][0, 0, 0, 0])
    frame = pd.concat(rows, ignore_index=True).assign(missing_data=list(MISSING_DATA))
    paired = np.array(estimates) - estimates[0]  # same trials: differences are precise
    frame["difference_from_complete_case"] = np.nanmean(paired, axis=1)
    frame["difference_mcse"] = np.nanstd(paired, axis=1, ddof=1) / math.sqrt(replicates)
    fig, ax = _axes(ax)
    _errorbars(ax, np.arange(len(frame)), frame.bias, frame.bias_mcse, ls="none", color="C3")
    ax.axhline(0.0, color="0.3", lw=0.8)
    ax.set_xticks(np.arange(len(frame)), frame.missing_data)
    ax.set_ylabel(f"bias ({_points(scenario)}; positive = benefit understated)")
    dropped = frame.dropout_fraction.iloc[0]
    ax.set_title(f"MNAR dropout ({dropped:.0%} gone by the primary visit): bias (±2 MCSE)")
    return frame, fig


# ---------------------------------------------------------------------------- 8


def ignoring_clustering(
    scenario: Scenario,
    practitioner_sd: float = 0.5,
    practitioners: int = 3,
    n_per_arm: int = 40,
    replicates: int = 400,
    ax: Axes | None = None,
) -> tuple[pd.DataFrame, Figure]:
    """Patients treated by the same practitioner are correlated; ignoring it inflates type I error.

    Use a scenario without a true effect (``scenarios/null_effect.toml``).
    Two settings, each analysed by ``ancova`` (patients independent) and
    ``ancova_cluster`` (cluster-robust SE by practitioner):

    * ``verum only``: practitioners differ in how well they deliver verum
      acupuncture (``practitioner_sd`` in the acupuncture arm, 0 in the
      others): each trial's few practitioners shift its acupuncture arm;
    * ``all needled arms``: the same practitioners, with the same own
      effect, treat every needled arm, so their effects cancel in the
      contrast and ignoring them costs little.

    Args:
        scenario: A scenario whose specific effect is zero.
        practitioner_sd: SD of practitioners' own effect (arm ``effect_units``).
        practitioners: Practitioners per arm.
        n_per_arm: Trial size (patients per arm).
        replicates: Trials per setting.
        ax: Axes to draw on, or None for a new figure.

    Returns:
        One row per (setting, analysis): ``type_i_error`` (share significant)
        with MCSE, ``coverage``; and the type I error of each.
    """
    verum = _verum(scenario)
    needled = [n for n, a in scenario.arms.items() if a.intervention in NEEDLED]
    settings = {"verum only": [verum], "all needled arms": needled}
    rows = []
    for setting, varied in settings.items():
        overrides = [f"arms.{n}.practitioners={practitioners}" for n in scenario.arms]
        overrides += [
            f"arms.{n}.practitioner_sd={practitioner_sd if n in varied else 0.0}"
            for n in scenario.arms
        ]
        variant = with_overrides(scenario, overrides)
        table = estimate(
            variant, [n_per_arm], replicates, analyses=["ancova", "ancova_cluster"], progress=False
        )
        rows.append(_first(table, scenario).assign(setting=setting))
    frame = pd.concat(rows, ignore_index=True).rename(
        columns={"power": "type_i_error", "power_mcse": "type_i_error_mcse"}
    )
    fig, ax = _axes(ax)
    x = np.arange(len(settings))
    for shift, (method, sub) in zip(
        (-0.1, 0.1), frame.groupby("analysis", sort=False), strict=True
    ):
        _errorbars(ax, x + shift, sub.type_i_error, sub.type_i_error_mcse, ls="none", label=method)
    ax.axhline(scenario.trial.alpha, color="0.5", ls="--", label=f"alpha = {scenario.trial.alpha}")
    ax.set_xticks(x, list(settings))
    ax.set_xlim(-0.5, len(settings) - 0.5)
    ax.set_ylabel("type I error (share significant, no true effect)")
    ax.set_title(
        f"{practitioners} practitioners per arm, practitioner SD {practitioner_sd} (±2 MCSE)"
    )
    ax.legend(fontsize="small")
    return frame, fig
