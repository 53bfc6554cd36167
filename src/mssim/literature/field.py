"""A simulated literature: many small trials, a publication filter, a meta-analysis.

Each study of the field is one simulated trial of the scenario's acupuncture
arm, either **sham-controlled** (acupuncture vs sham) or **open-label**
(acupuncture vs usual care). Both designs are built from the scenario by
replacing its arms (see :func:`trial_scenario`):

* sham-controlled: ``arms = {acupuncture, sham}`` with the scenario's own
  acupuncture and sham arms (a penetrating sham with the acupuncture arm's
  schedule, targets and non-specific effect if the scenario has none);
* open-label: ``arms = {acupuncture, usual_care}`` where the acupuncture arm
  is the scenario's with ``guess_verum = 1`` and ``guess_dont_know = 0``
  (everyone knows they are needled, so expectation rises) and
  ``usual_care = {intervention = "usual_care"}``;
* both: ``trial.design = "parallel"``, ``trial.allocation = {}`` (1:1),
  ``trial.block_size = 2 x arms``, ``trial.contrasts = ["acupuncture - <comparator>"]``,
  ``trial.analysis`` = the authors' analysis, and ``trial.secondary_endpoints`` =
  every other simulated symptom (every study measures every outcome; with
  outcome switching an author may report one of them).

Study sizes are log-uniform between two bounds; small studies are more often
open-label (weights ``n ** -3`` by default, an assumption).

The field wants the specific effect of needling: the counterfactual
acupuncture - sham truth of the sham-controlled design. Open-label studies
estimate acupuncture - usual care, which adds expectation and ritual. Small
studies, a significance filter on publication and (optionally) outcome
switching then make the published literature overstate the benefit, and
its funnel asymmetric.

Effects are treatment minus control in points of the primary endpoint's
instrument ("higher is worse", so a benefit is negative); ``smd`` divides by
the endpoint's ``reference_sd``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mssim.config.load import with_overrides
from mssim.config.scenario import Scenario
from mssim.errors import MssimError
from mssim.literature import bias, meta
from mssim.model import rng
from mssim.model.engine import simulate
from mssim.montecarlo.analyses import check_analyses
from mssim.trial.analyses.analysis import analyse
from mssim.trial.data import trial_data
from mssim.trial.estimands import true_effects
from mssim.trial.randomization import contrast_regimens, randomize, total_patients

SHAM_CONTROLLED, OPEN_LABEL = "sham_controlled", "open_label"
COMPARATOR = {SHAM_CONTROLLED: "sham", OPEN_LABEL: "usual_care"}
PUBLISHED_SHAM = "published_sham_controlled"
#: Pooled subsets. The published sham-controlled trials separate publication bias
#: (published vs all sham-controlled) from comparator bias (published vs published
#: sham-controlled): both sham-controlled subsets estimate the specific effect.
SUBSETS = ("published", "all", SHAM_CONTROLLED, PUBLISHED_SHAM)
POOLING = ("dl", "reml")
META_COLUMNS = (
    *("method", "subset", "estimate", "se", "ci_low", "ci_high", "p_value", "tau2", "i2", "q"),
    *("k", "true_effect", "bias", "egger_intercept", "egger_p", "k0", "side"),
)
AUTHORS_ANALYSIS = "welch_change"  # a change-score t-test, as small trials report
# (A) A sham needs devices, blinding checks and money, so small pilot trials mostly
# go without one (Karpatkin 2014: mostly uncontrolled or unblinded studies).
OPEN_LABEL_SIZE_POWER = 3.0


@dataclass(frozen=True)
class Publication:
    """How results reach print.

    Attributes:
        p_nonsignificant: Chance a non-significant study is published
            (significant ones always are), in [0, 1].
        outcome_switching: An author whose primary endpoint is not significant
            reports the most significant endpoint and visit showing a benefit
            instead (the primary stays if none does).
    """

    p_nonsignificant: float = 0.2
    outcome_switching: bool = False


@dataclass(frozen=True)
class Field:
    """A simulated literature and its meta-analyses.

    Attributes:
        studies: One row per study (see :func:`simulate_field`).
        meta: One row per (method, subset): pooled estimates, heterogeneity,
            Egger's test and trim-and-fill.
        cumulative: Cumulative DerSimonian-Laird meta-analysis of the
            published studies in publication order (:func:`mssim.literature.meta.cumulative`).
        true_effect: The specific effect of needling (acupuncture - sham),
            primary-endpoint points.
        open_label_effect: The true acupuncture - usual care effect of the
            open-label design, primary-endpoint points.
        endpoint: The primary endpoint (a symptom).
        units: Its units, e.g. ``FSS points``.
    """

    studies: pd.DataFrame
    meta: pd.DataFrame
    cumulative: pd.DataFrame
    true_effect: float
    open_label_effect: float
    endpoint: str
    units: str

    @property
    def effect_label(self) -> str:
        """Axis label naming the endpoint, the units and the contrast."""
        return f"effect on {self.endpoint} ({self.units}, acupuncture − control)"

    def pooled(self, subset: str = "published", method: str = "dl") -> meta.Pooled:
        """The pooled result of a subset as a :class:`mssim.literature.meta.Pooled`.

        Args:
            subset: ``published``, ``all``, ``sham_controlled`` or
                ``published_sham_controlled``.
            method: ``dl``, ``reml`` or ``trim_and_fill`` (published only).
        """
        row = self.meta[(self.meta.subset == subset) & (self.meta.method == method)].iloc[0]
        values = {f.name: row[f.name] for f in dataclasses.fields(meta.Pooled)}
        return meta.Pooled(**{**values, "k": int(row.k)})


# ---------------------------------------------------------------------------- scenarios


def trial_scenario(
    scenario: Scenario,
    comparators: Sequence[str],
    open_label: bool = False,
    analysis: str | None = None,
) -> Scenario:
    """The scenario's acupuncture arm against sham and/or usual care, in parallel groups.

    Args:
        scenario: The scenario (its acupuncture arm, its sham arm if any,
            population, symptoms, dropout and trial settings are kept).
        comparators: ``"sham"`` and/or ``"usual_care"``, in contrast order.
        open_label: Patients know they get verum (``guess_verum = 1``).
        analysis: ``trial.analysis`` of the new scenario (default: kept).

    Returns:
        A scenario with arms ``acupuncture`` plus the comparators and the
        contrasts ``acupuncture - <comparator>`` (module docstring lists every
        change).

    Raises:
        MssimError: If the scenario has no acupuncture arm.
    """
    arms = {a.intervention: a.model_dump(mode="python") for a in reversed(scenario.arms.values())}
    if "acupuncture" not in arms:
        kinds = ", ".join(a.intervention for a in scenario.arms.values())
        raise MssimError(
            f"scenario {scenario.name!r}: arms: the literature needs an arm with "
            f"intervention = 'acupuncture'; the scenario has {kinds}"
        )
    verum = arms["acupuncture"]
    if open_label:
        verum = {**verum, "guess_verum": 1.0, "guess_dont_know": 0.0}
    schedule = ("sessions_per_week", "weeks", "start_day", "targets", "effect_units")
    sham = arms.get("sham") or {
        "intervention": "sham",
        "sham_type": "penetrating",
        "nonspecific_effect": verum["nonspecific_effect"],
        **{key: verum[key] for key in schedule},
    }
    table = {"sham": sham, "usual_care": {"intervention": "usual_care"}}
    chosen = {"acupuncture": verum, **{name: table[name] for name in comparators}}
    contrasts = ", ".join(f'"acupuncture - {name}"' for name in comparators)
    overrides = [
        "trial.design=parallel",
        "trial.allocation={}",
        f"trial.block_size={2 * len(chosen)}",
        f"trial.contrasts=[{contrasts}]",
    ]
    if analysis is not None:
        overrides.append(f"trial.analysis={analysis}")
    return with_overrides(scenario, overrides, values={"arms": chosen})


def study_design(scenario: Scenario, design: str, analysis: str | None = None) -> Scenario:
    """The trial of one design's studies: :func:`trial_scenario` measuring every outcome.

    Every other simulated symptom is a secondary endpoint, whether or not an author
    switches outcomes, so a study's patients are the same either way (the days
    the engine simulates follow the endpoints, :mod:`mssim.model.gaps`).

    Args:
        scenario: The field's scenario.
        design: ``sham_controlled`` or ``open_label``.
        analysis: The authors' analysis (default: the scenario's).
    """
    built = trial_scenario(scenario, [COMPARATOR[design]], design == OPEN_LABEL, analysis)
    others = [s for s in built.symptoms.active() if s != built.trial.primary_endpoint]
    listed = ", ".join(f'"{s}"' for s in others)
    return with_overrides(built, [f"trial.secondary_endpoints=[{listed}]"])


# ---------------------------------------------------------------------------- the field


def check_inputs(
    n_studies: int,
    sizes: tuple[int, int] | Sequence[int],
    publication: Publication,
    open_label_share: float,
) -> None:
    """Refuse bad options with a message naming the option and what is allowed."""
    if n_studies < 1:
        raise MssimError(f"literature: n_studies (--studies) must be at least 1; given {n_studies}")
    p = publication.p_nonsignificant
    if not 0.0 <= p <= 1.0:
        raise MssimError(
            "literature: p_nonsignificant (--p-nonsignificant), the chance a non-significant "
            f"study is published, must be in [0, 1]; given {p}"
        )
    if not 0.0 <= open_label_share <= 1.0:
        raise MssimError(
            "literature: open_label_share (--open-label-share) must be in [0, 1]; "
            f"given {open_label_share}"
        )
    if isinstance(sizes, tuple) and len(sizes) == 2:
        low, high = sizes
        if low < 2 or low > high:
            raise MssimError(
                "literature: sizes (--min-n, --max-n) must satisfy 2 <= min <= max "
                f"patients per arm; given min {low}, max {high}"
            )
        return
    given = [int(n) for n in sizes]
    if len(given) != n_studies or min(given, default=0) < 2:
        raise MssimError(
            "literature: sizes must be (min, max) patients per arm, or one size >= 2 per "
            f"study ({n_studies} sizes); given {given}"
        )


def _field_rng(seed: int) -> np.random.Generator:
    """The field-level stream: study sizes, designs and publication."""
    return rng.stream(seed, 0, "literature")


def _candidates(scenario: Scenario, switching: bool) -> list[tuple[str, int]]:
    """(endpoint, visit week) pairs an author may report; the primary comes first."""
    primary = (scenario.trial.primary_endpoint, scenario.trial.weeks)
    if not switching:
        return [primary]
    weeks = [w for w in scenario.trial.visit_weeks() if w > 0]
    pairs = [(e, w) for e in scenario.endpoints() for w in weeks]
    return [primary, *[pair for pair in pairs if pair != primary]]


def _analyse_design(
    design: Scenario,
    replicates: np.ndarray,
    n_per_arm: np.ndarray,
    switching: bool,
) -> tuple[dict[str, np.ndarray], float]:
    """Simulate one design's studies once at the largest size; analyse each at its own.

    Returns:
        Per-study arrays (estimate, se, ci_low, ci_high in primary-endpoint
        points; p_value; n_analysed; endpoint_reported) and the design's true
        effect (primary-endpoint points): the counterfactual contrast averaged
        over every patient simulated for the design's studies.
    """
    trial = design.trial
    outcomes = simulate(design, replicates, total_patients(design, int(n_per_arm.max())))
    allocation = randomize(design, outcomes)
    (a, b), primary = contrast_regimens(design)[0], trial.primary_endpoint
    truth = float(
        true_effects(design, outcomes, primary, ["mean_difference"])["mean_difference"][:, 0].mean()
    )
    # The prefix property: a study is the first patients of its replicate.
    enrolled = (
        np.arange(allocation.shape[1])[None, :] < total_patients(design, 1) * n_per_arm[:, None]
    )
    primary_sd = getattr(design.symptoms, primary).reference_sd
    results = []
    candidates = _candidates(design, switching)
    for endpoint, week in candidates:
        # The same simulated visits, read as if ``week`` were the primary visit.
        at_week = design.model_copy(update={"trial": trial.model_copy(update={"weeks": week})})
        data = trial_data(at_week, outcomes, allocation, endpoint, allocation.shape[1])
        data = dataclasses.replace(data, observed=data.observed & enrolled)
        est = analyse(trial.analysis, data, a, b, trial.alpha, trial=trial)
        to_primary = primary_sd / getattr(design.symptoms, endpoint).reference_sd
        results.append((est, to_primary))
    p = np.stack([est.p_value for est, _ in results])
    estimate = np.stack([est.estimate for est, _ in results])
    # An author reports the primary unless it misses alpha; then the smallest p
    # among results showing a benefit (lower scores), if any.
    favourable = np.where(np.isfinite(p) & (estimate < 0), p, np.inf)
    switch = (p[0] >= trial.alpha) & np.isfinite(favourable.min(axis=0))
    best = np.where(switch, np.argmin(favourable, axis=0), 0)
    pick = np.arange(len(replicates))

    def chosen(field: str, scale: bool = False) -> np.ndarray:
        values = np.stack([getattr(est, field) * (k if scale else 1) for est, k in results])
        return values[best, pick]

    labels = np.array(
        [e if w == trial.weeks else f"{e} (week {w})" for e, w in candidates], dtype=object
    )
    out = {f: chosen(f, True) for f in ("estimate", "se", "ci_low", "ci_high")}
    out |= {
        "p_value": chosen("p_value"),
        "n_analysed": chosen("n_analysed"),
        "endpoint_reported": labels[best],
    }
    return out, truth


def simulate_field(
    scenario: Scenario,
    n_studies: int = 40,
    sizes: tuple[int, int] | Sequence[int] = (10, 80),
    publication: Publication | None = None,
    open_label_share: float = 0.5,
    seed: int | None = None,
    analysis: str = AUTHORS_ANALYSIS,
    open_label_size_power: float = OPEN_LABEL_SIZE_POWER,
) -> Field:
    """Simulate a literature of small trials and meta-analyse it.

    Args:
        scenario: The scenario (needs an acupuncture arm).
        n_studies: Studies run, published or not.
        sizes: ``(min, max)`` patients per arm (a tuple of two: sizes are
            log-uniform between them, rounded), or one size per study (a list
            or array of length ``n_studies``).
        publication: The publication filter (default :class:`Publication`()).
        open_label_share: Share of studies that are open-label, in [0, 1]
            (rounded to a whole number of studies).
        seed: Root seed (default the scenario's seed).
        analysis: The authors' analysis (a registered analysis name).
        open_label_size_power: Open-label studies are drawn without
            replacement with weights ``n_per_arm ** -power``: 0 makes the
            design independent of size; the default makes small studies far
            more often open-label, so the funnel of all studies is already
            asymmetric before any publication filter.

    Returns:
        The field. ``studies`` columns: ``study``, ``design``, ``n_per_arm``,
        ``n_analysed``, ``endpoint_reported``, ``estimate``, ``se``,
        ``ci_low``, ``ci_high`` (primary-endpoint points), ``smd``,
        ``p_value``, ``significant``, ``published``, ``publication_order``
        (1.. for published studies, missing otherwise), ``design_effect`` (the
        true effect of the study's own contrast), ``true_effect``.

    Raises:
        MssimError: For a bad option (naming it and what is allowed) or a
            scenario without an acupuncture arm.
    """
    publication = publication or Publication()
    check_inputs(n_studies, sizes, publication, open_label_share)
    if seed is not None:
        scenario = with_overrides(scenario, values={"seed": seed}, source="seed")
    rng = _field_rng(scenario.seed)
    if isinstance(sizes, tuple) and len(sizes) == 2:
        low, high = np.log(sizes[0]), np.log(sizes[1])
        n_per_arm = np.rint(np.exp(rng.uniform(low, high, n_studies))).astype(np.int64)
    else:
        n_per_arm = np.asarray(sizes, dtype=np.int64)
    n_open = round(open_label_share * n_studies)
    # Small studies are more often open-label: weights n ** -power, without replacement.
    weights = n_per_arm.astype(float) ** -open_label_size_power
    is_open = np.zeros(n_studies, dtype=bool)
    is_open[rng.choice(n_studies, n_open, replace=False, p=weights / weights.sum())] = True
    lucky = rng.uniform(size=n_studies) < publication.p_nonsignificant
    order_key = rng.uniform(size=n_studies)

    columns: dict[str, np.ndarray] = {}
    truths = {}
    for design, studies in [(SHAM_CONTROLLED, ~is_open), (OPEN_LABEL, is_open)]:
        built = study_design(scenario, design, analysis)
        check_analyses(built, [analysis])
        # The truth needs the sham-controlled design even if no study uses it.
        index = np.flatnonzero(studies) if studies.any() else np.arange(n_studies)
        result, truths[design] = _analyse_design(
            built, index, n_per_arm[index], publication.outcome_switching
        )
        if not studies.any():
            continue
        for name, values in result.items():
            columns.setdefault(name, np.empty(n_studies, dtype=values.dtype))[index] = values

    primary = scenario.trial.primary_endpoint
    reference_sd = getattr(scenario.symptoms, primary).reference_sd
    studies = pd.DataFrame(
        {
            "study": np.arange(1, n_studies + 1),
            "design": np.where(is_open, OPEN_LABEL, SHAM_CONTROLLED),
            "n_per_arm": n_per_arm,
            **columns,
        }
    )
    studies["switched"] = studies.endpoint_reported != primary
    studies["smd"] = studies.estimate / reference_sd
    finite = np.isfinite(studies.estimate) & np.isfinite(studies.se)
    studies["significant"] = finite & (studies.p_value < scenario.trial.alpha)
    studies["published"] = studies.significant | (finite & lucky)
    rank = pd.Series(np.where(studies.published, order_key, np.nan)).rank()
    studies["publication_order"] = rank.astype("Int64")
    studies["design_effect"] = np.where(is_open, truths[OPEN_LABEL], truths[SHAM_CONTROLLED])
    studies["true_effect"] = truths[SHAM_CONTROLLED]

    instrument = getattr(scenario.symptoms, primary).instrument.upper()
    return field_from_studies(
        studies, truths[SHAM_CONTROLLED], truths[OPEN_LABEL], primary, f"{instrument} points"
    )


def field_from_studies(
    studies: pd.DataFrame,
    true_effect: float,
    open_label_effect: float,
    endpoint: str,
    units: str,
) -> Field:
    """Meta-analyse a table of studies into a :class:`Field`.

    Args:
        studies: One row per study with at least ``design``, ``n_per_arm``,
            ``estimate``, ``se`` (primary-endpoint points), ``significant``,
            ``published``, ``publication_order`` and ``switched``.
        true_effect: The specific effect of needling (acupuncture - sham).
        open_label_effect: The true acupuncture - usual care effect.
        endpoint: The primary endpoint.
        units: Its units, e.g. ``FSS points``.

    Returns:
        The field, with its meta-analyses (:data:`SUBSETS` by DL and REML,
        Egger's test, trim-and-fill) and the cumulative meta-analysis of the
        published studies in publication order.
    """
    finite = np.isfinite(studies.estimate) & np.isfinite(studies.se)
    published = studies[studies.published].sort_values("publication_order")
    cumulative = (
        meta.cumulative(published.estimate, published.se**2)
        if len(published)
        else pd.DataFrame(columns=[f.name for f in dataclasses.fields(meta.Pooled)])
    )
    return Field(
        studies=studies,
        meta=_meta_table(studies[finite], true_effect),
        cumulative=cumulative,
        true_effect=true_effect,
        open_label_effect=open_label_effect,
        endpoint=endpoint,
        units=units,
    )


def _meta_table(studies: pd.DataFrame, truth: float) -> pd.DataFrame:
    """Pooled estimates of each subset by DL and REML, Egger's test, trim-and-fill."""
    rows = []
    for subset in SUBSETS:
        chosen = {
            "published": studies.published,
            "all": np.ones(len(studies), dtype=bool),
            SHAM_CONTROLLED: studies.design == SHAM_CONTROLLED,
            PUBLISHED_SHAM: studies.published & (studies.design == SHAM_CONTROLLED),
        }[subset]
        s = studies[np.asarray(chosen)]
        y, v = s.estimate.to_numpy(), s.se.to_numpy() ** 2
        egger = _egger(y, np.sqrt(v))
        for method in POOLING:
            pooled = meta.pool(y, v, method).as_dict() if len(s) else {"method": method, "k": 0}
            rows.append({**pooled, "subset": subset, **egger})
        if subset == "published" and len(s) >= 3:
            filled = bias.trim_and_fill(y, v, "dl")
            rows.append(
                {
                    **filled.pooled.as_dict(),
                    "method": "trim_and_fill",
                    "subset": subset,
                    "k0": filled.k0,
                    "side": filled.side,
                    **egger,
                }
            )
    table = pd.DataFrame(rows)
    table["true_effect"] = truth
    table["bias"] = table.estimate - truth
    return table.reindex(columns=list(META_COLUMNS))


def _egger(y: np.ndarray, se: np.ndarray) -> dict[str, float]:
    """Egger's intercept and p, NaN when there are too few studies or equal SEs."""
    try:
        result = bias.egger_test(y, se)
    except ValueError:
        return {"egger_intercept": math.nan, "egger_p": math.nan}
    return {"egger_intercept": result.intercept, "egger_p": result.p_value}
