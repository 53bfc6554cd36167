"""What a simulated literature shows, told in a few plain lines."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mssim.literature.field import OPEN_LABEL, SHAM_CONTROLLED, Field


def story(field: Field) -> str:
    """A few lines telling what the simulated literature shows.

    Args:
        field: A simulated field.

    Returns:
        The true effect, the pooled published and all-studies estimates,
        Egger's test and trim-and-fill, in plain words.
    """
    s, m = field.studies, field.meta
    unit = field.units
    n_open = int((s.design == OPEN_LABEL).sum())
    lines = [
        f"A simulated literature of {len(s)} trials ({len(s) - n_open} sham-controlled, "
        f"{n_open} open-label), {s.n_per_arm.min()}-{s.n_per_arm.max()} patients per arm.",
        f"True specific effect of needling (acupuncture - sham): {field.true_effect:+.2f} {unit}; "
        f"open-label trials estimate acupuncture - usual care: {field.open_label_effect:+.2f}.",
        f"Published: {int(s.published.sum())} of {len(s)} trials "
        f"({int(s.significant.sum())} significant).",
    ]

    def pooled(subset: str, method: str = "dl") -> pd.Series:
        return m[(m.subset == subset) & (m.method == method)].iloc[0]

    def interval(row: pd.Series) -> str:
        return f"{row.estimate:+.2f} (95% CI {row.ci_low:+.2f} to {row.ci_high:+.2f})"

    pub = pooled("published")
    if pub.k == 0:
        lines.append("No trial was published: there is nothing to pool.")
        return "\n".join(lines)
    ratio = pub.estimate / field.true_effect if abs(field.true_effect) > 1e-9 else math.nan
    lines += [
        f"Pooled published estimate (DerSimonian-Laird): {interval(pub)} {unit}"
        + (f", {ratio:.1f} times the true effect." if math.isfinite(ratio) else "."),
        f"Pooled estimate of all {int(pooled('all').k)} trials run: {interval(pooled('all'))}.",
    ]
    if pooled(SHAM_CONTROLLED).k:
        lines.append(
            f"Pooled estimate of all sham-controlled trials: {interval(pooled(SHAM_CONTROLLED))}."
        )
    if np.isfinite(pub.egger_p):
        # negative effects are benefits, so a negative intercept means larger benefits
        direction = "larger" if pub.egger_intercept < 0 else "smaller"
        lines.append(
            f"Egger's test on the published trials: intercept {pub.egger_intercept:+.2f}, "
            f"p = {pub.egger_p:.3g} (small trials report {direction} benefits)."
        )
    filled = m[m.method == "trim_and_fill"]
    if len(filled):
        row = filled.iloc[0]
        lines.append(
            f"Trim-and-fill imputes k0 = {int(row.k0)} missing trials; adjusted estimate "
            f"{interval(row)}."
        )
    return "\n".join(lines)
