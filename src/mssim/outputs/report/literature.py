"""A simulated literature's tables and figures."""

from __future__ import annotations

import pandas as pd

from mssim.outputs.report.folder import Folder
from mssim.outputs.report.html import embedded_image, esc, html_table, section

LITERATURE_FIGURES = {
    "funnel.png": "Funnel plot of the simulated literature",
    "forest.png": "Forest plot of the simulated literature",
    "cumulative.png": "Cumulative meta-analysis",
}


def _whole_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Float columns holding only whole numbers (and gaps) as integers, e.g. counts with NaN."""
    out = frame.copy()
    for column in out.select_dtypes("float").columns:
        values = out[column].dropna()
        if len(values) and (values == values.round()).all():
            out[column] = out[column].astype("Int64")
    return out


def literature_section(found: Folder) -> str:
    """A simulated literature's pooled estimates, studies and figures."""
    parts = []
    for title, frame in (("Pooled estimates", found.meta), ("Studies", found.studies)):
        if frame is not None:
            parts.append(f"<h3>{esc(title)}</h3>" + html_table(_whole_numbers(frame), wide=True))
    for name, caption in LITERATURE_FIGURES.items():
        if (found.path / name).is_file():
            parts.append(embedded_image((found.path / name).read_bytes(), caption))
    return section("literature", "Simulated literature", "".join(parts)) if parts else ""
