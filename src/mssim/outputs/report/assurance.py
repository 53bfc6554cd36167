"""The report's assurance section: success over the priors beside power at their centre."""

from __future__ import annotations

import pandas as pd

from mssim.config.priors import Prior
from mssim.outputs.report.folder import Folder
from mssim.outputs.report.html import (
    embedded_image,
    esc,
    html_table,
    plus_minus,
    section,
    setting_text,
)

FIGURE_CAPTION = (
    "Assurance (probability of success over the priors) beside power at the priors' centre; "
    "power by the true effect drawn from the priors; the prior predictive distribution of "
    "the estimate (assurance.csv, assurance_curve.csv)."
)


def assurance_section(found: Folder) -> str:
    """Assurance with MCSE next to power at the priors' centre, and the priors behind it."""
    table = found.assurance
    if table is None:
        return ""
    priors = found.scenario.priors if found.scenario else {}
    listed = "".join(
        f"<li><code>{esc(field)}</code>: {esc(prior.distribution)} ({esc(_parameters(prior))})</li>"
        for field, prior in priors.items()
    )
    shown = pd.DataFrame(
        {
            "analysis": table.analysis,
            "contrast": table.contrast,
            "n/arm": table.n_per_arm,
            "assurance": plus_minus(table, "assurance"),
            "power at centre": plus_minus(table, "power_at_centre"),
            "true effect (prior mean)": table.true_effect_mean,
            "true effect (prior SD)": table.true_effect_sd,
            "estimate 2.5%": table["estimate_q2.5"],
            "estimate 50%": table["estimate_q50"],
            "estimate 97.5%": table["estimate_q97.5"],
        }
    )
    figure = found.path / "assurance.png"
    body = (
        "<p>Each replicate trial draws its values of these fields from their priors "
        "(its own keyed stream), then is simulated and analysed like any other. "
        "Assurance is the share of all replicates that succeed (± MCSE); power at "
        "the centre is the run at the priors' means. The estimate's quantiles are its "
        "prior predictive distribution.</p>"
        + (f"<ul>{listed}</ul>" if listed else "")
        + html_table(shown, wide=True)
        + (embedded_image(figure.read_bytes(), FIGURE_CAPTION) if figure.is_file() else "")
    )
    return section("assurance", "Assurance", body)


def _parameters(prior: Prior) -> str:
    """A prior's parameters as text, e.g. ``mean 0.2, sd 0.1``."""
    given = prior.model_dump(exclude_none=True, exclude={"distribution"})
    return ", ".join(f"{name} {setting_text(value)}" for name, value in given.items())
