"""The report's table of where the true effect comes from (``effect_*`` columns of power.csv)."""

from __future__ import annotations

import pandas as pd

from mssim.outputs.report.html import esc, html_table

#: Column of power.csv -> heading in the report, in the order the parts are switched on.
PART_HEADINGS = {
    "effect_drug": "drug",
    "effect_specific": "specific",
    "effect_nonspecific": "non-specific (expectation)",
    "effect_unblinding": "unblinding",
    "effect_adherence": "adherence",
    "effect_dropout_decay": "dropout and decay",
    "breakdown_true_effect": "true effect",
}


def breakdown_table(results: pd.DataFrame, units: str) -> str:
    """The true effect of each endpoint and contrast split into its parts, as HTML.

    Args:
        results: The run's ``power.csv``.
        units: Units of the mean differences, for the caption.

    Returns:
        A paragraph and a table; empty when the results carry no breakdown.
    """
    if "breakdown_true_effect" not in results.columns:
        return ""
    rows = results.dropna(subset=["breakdown_true_effect"])
    if rows.empty:
        return ""
    rows = rows.drop_duplicates(["endpoint", "contrast"])
    table = rows[["endpoint", "contrast", *PART_HEADINGS]].rename(columns=PART_HEADINGS)
    reps = int(rows.breakdown_replicates.iloc[0])
    return (
        f"<p>Where the true mean difference comes from ({esc(units)}), measured on the run's "
        f"first {reps} replicate trials by switching the model's parts on one at a time "
        "with the same random numbers; the parts add up to the true effect of those "
        "trials. Specific and non-specific are the effects entered; unblinding is what "
        "differing guesses add; adherence is missed sessions and the dose building up; "
        "dropout and decay is what is lost after dropout and after the last session.</p>"
        + html_table(table.reset_index(drop=True))
    )
