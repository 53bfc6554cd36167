"""What a simulated literature shows, told in a few plain lines.

Every sentence is written only when the statistic it reports supports it: a
small-study effect only when Egger's test shows one (p < ``EGGER_ALPHA``),
missing trials only when trim-and-fill imputes some, open-label words only
when the field has open-label trials, switched outcomes only when a published
trial switched. Publication bias (published against all sham-controlled
trials, one comparator, one truth) and comparator bias (all published against
published sham-controlled trials) are told apart.

Effects are treatment minus control in the primary endpoint's points, where
higher is worse: a benefit is negative.
"""

from __future__ import annotations

import math

import pandas as pd

from mssim.literature.bias import EGGER_ALPHA
from mssim.literature.field import OPEN_LABEL, PUBLISHED_SHAM, SHAM_CONTROLLED, Field

_NEGLIGIBLE = 1e-9  # |effect| (points) below which a ratio to it is not told


def _pooled(field: Field, subset: str, method: str = "dl") -> pd.Series | None:
    """The meta.csv row of a subset, or None when it pools no study."""
    m = field.meta
    rows = m[(m.subset == subset) & (m.method == method)]
    return rows.iloc[0] if len(rows) and rows.k.iloc[0] > 0 else None


def _interval(row: pd.Series) -> str:
    return f"{row.estimate:+.2f} (95% CI {row.ci_low:+.2f} to {row.ci_high:+.2f})"


def _times_truth(field: Field, estimate: float) -> str:
    """The ratio of an estimate to the true effect in words, or nothing when the truth is 0."""
    if abs(field.true_effect) < _NEGLIGIBLE:
        return ""
    return f", {estimate / field.true_effect:.1f} times the true effect"


def _shift(difference: float) -> str:
    """A signed difference of pooled estimates in words (benefits are negative)."""
    if round(difference, 2) == 0.0:
        return "no shift at two decimals"
    toward = "larger" if difference < 0 else "smaller"
    return f"a shift of {difference:+.2f} toward {toward} benefits"


def story(field: Field) -> str:
    """A few lines telling what the simulated literature shows.

    Args:
        field: A simulated field.

    Returns:
        The true effect; the pooled published, all-trials and sham-controlled
        estimates; publication bias and comparator bias, each on its own line;
        outcome switching, Egger's test and trim-and-fill, each only as far as
        its statistic shows it.
    """
    s, unit = field.studies, field.units
    n, n_open = len(s), int((s.design == OPEN_LABEL).sum())
    n_pub = int(s.published.sum())
    designs = (
        f"{n - n_open} sham-controlled, {n_open} open-label" if n_open else "all sham-controlled"
    )
    truth = (
        f"True specific effect of needling (acupuncture - sham): {field.true_effect:+.2f} {unit}"
    )
    if n_open:
        truth += (
            f"; open-label trials estimate acupuncture - usual care, "
            f"whose true effect is {field.open_label_effect:+.2f}"
        )
    lines = [
        f"A simulated literature of {n} trials ({designs}), "
        f"{s.n_per_arm.min()}-{s.n_per_arm.max()} patients per arm.",
        truth + ".",
        f"Published: {n_pub} of {n} trials ({int(s.significant.sum())} significant).",
    ]
    pub = _pooled(field, "published")
    if pub is None:
        lines.append("No trial was published: there is nothing to pool.")
        return "\n".join(lines)
    every = _pooled(field, "all")
    lines.append(
        f"Pooled published estimate (DerSimonian-Laird): {_interval(pub)} {unit}"
        f"{_times_truth(field, pub.estimate)}."
    )
    if n_pub < n:
        lines.append(f"Pooled estimate of all {int(every.k)} trials run: {_interval(every)}.")
    else:
        lines.append(f"Every one of the {n} trials run was published.")
    lines += _publication_bias(field, n_pub < n, n_open)
    lines += _comparator_bias(field, n_open)
    switched = int((s.published & s.switched).sum())
    if switched:
        lines.append(
            f"Outcome switching: {switched} of {n_pub} published trials report an endpoint "
            "or visit other than the primary."
        )
    lines += _funnel(pub, _pooled(field, "published", "trim_and_fill"))
    return "\n".join(lines)


def _publication_bias(field: Field, filtered: bool, n_open: int) -> list[str]:
    """Published against all sham-controlled trials: one comparator, one truth."""
    sham, published_sham = _pooled(field, SHAM_CONTROLLED), _pooled(field, PUBLISHED_SHAM)
    if sham is None:
        return []
    lines = [f"Pooled estimate of all sham-controlled trials: {_interval(sham)}."] if n_open else []
    if published_sham is None:
        lines.append(
            "No sham-controlled trial was published: publication bias cannot be "
            "told apart from comparator bias."
        )
    elif filtered:
        lines.append(
            f"Publication bias: the published sham-controlled trials pool to "
            f"{_interval(published_sham)}{_times_truth(field, published_sham.estimate)}; "
            f"against all sham-controlled trials, "
            f"{_shift(published_sham.estimate - sham.estimate)}."
        )
    return lines


def _comparator_bias(field: Field, n_open: int) -> list[str]:
    """All published trials against the published sham-controlled ones."""
    open_published = int((field.studies.published & (field.studies.design == OPEN_LABEL)).sum())
    published_sham = _pooled(field, PUBLISHED_SHAM)
    if not n_open or not open_published or published_sham is None:
        return []
    pub = _pooled(field, "published")
    return [
        f"Comparator bias: {open_published} published open-label trials compare with usual "
        f"care, not sham (true difference {field.open_label_effect - field.true_effect:+.2f}); "
        f"including them, {_shift(pub.estimate - published_sham.estimate)} "
        "against the published sham-controlled trials alone."
    ]


def _funnel(pub: pd.Series, filled: pd.Series | None) -> list[str]:
    """Egger's test and trim-and-fill, each claiming only what it shows."""
    lines = []
    if math.isfinite(pub.egger_p):
        line = (
            f"Egger's test on the published trials: intercept {pub.egger_intercept:+.2f}, "
            f"p = {pub.egger_p:.3g}"
        )
        if pub.egger_p < EGGER_ALPHA:
            # negative effects are benefits, so a negative intercept means larger benefits
            direction = "larger" if pub.egger_intercept < 0 else "smaller"
            line += f" (small trials report {direction} benefits)."
        else:
            line += f": no funnel asymmetry shown at p < {EGGER_ALPHA:g}."
        lines.append(line)
    if filled is not None:
        if filled.k0 > 0:
            toward = "smaller" if filled.side == "right" else "larger"
            lines.append(
                f"Trim-and-fill imputes k0 = {int(filled.k0)} missing trials on the side of "
                f"{toward} benefits; adjusted estimate {_interval(filled)}."
            )
        else:
            lines.append("Trim-and-fill imputes no missing trials (k0 = 0).")
    return lines
