"""Small HTML pieces of the report; every piece of text from a folder is escaped."""

from __future__ import annotations

import base64
import html
import io
import json
import math
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

MAX_ROWS = 300  # longer tables are cut (the CSV beside the report has every row)


def esc(value: Any) -> str:
    """Text escaped for HTML."""
    return html.escape(str(value))


def cell_text(value: Any, digits: int = 3) -> str:
    """A cell value as text: numbers rounded, missing as a dash."""
    if not isinstance(value, list | dict) and pd.isna(value):  # None, NaN and pd.NA
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2g}"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def setting_text(value: Any) -> str:
    """A scenario value as written in a scenario file (no rounding)."""
    return f"{value:g}" if isinstance(value, float) else cell_text(value)


def plus_minus(frame: pd.DataFrame, column: str, digits: int = 3) -> list[str]:
    """``value ± MCSE`` texts of a column and its ``<column>_mcse``."""
    out = []
    for value, mcse in zip(frame[column], frame[f"{column}_mcse"], strict=True):
        if math.isnan(value):
            out.append("—")
        elif math.isnan(mcse):
            out.append(f"{value:.{digits}f}")
        else:
            out.append(f"{value:.{digits}f} ± {mcse:.{digits}f}")
    return out


def html_table(
    frame: pd.DataFrame,
    row_classes: list[str] | None = None,
    wide: bool = False,
    limit: int | None = MAX_ROWS,
) -> str:
    """An HTML table of a frame (already formatted or raw; everything escaped).

    ``wide`` keeps cells on one line and lets the table scroll sideways instead;
    ``limit`` cuts long tables (None: every row).
    """
    shown = frame if limit is None else frame.head(limit)
    # dotted field names may break after a dot, so long paths do not widen the table
    head = "".join(f"<th>{esc(c).replace('.', '.<wbr>')}</th>" for c in shown.columns)
    rows = []
    for i, record in enumerate(shown.itertuples(index=False)):
        cls = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        cells = "".join(
            f'<td class="num">{esc(cell_text(v))}</td>'
            if isinstance(v, int | float) and not isinstance(v, bool)
            else f"<td>{esc(cell_text(v))}</td>"
            for v in (x.item() if hasattr(x, "item") else x for x in record)
        )
        rows.append(f"<tr{cls}>{cells}</tr>")
    more = ""
    if len(shown) < len(frame):
        more = f'<p class="note">First {len(shown)} of {len(frame)} rows (all are in the CSV).</p>'
    opening = '<div class="scroll"><table class="wide">' if wide else "<table>"
    closing = "</table></div>" if wide else "</table>"
    body = f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
    return opening + body + closing + more


def png_bytes(figure: Figure) -> bytes:
    """A figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def embedded_image(png: bytes, caption: str) -> str:
    """A PNG embedded as a data URI, with its caption."""
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{esc(caption)}">'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def section(anchor: str, title: str, body: str) -> str:
    """A titled section with an anchor."""
    return f'<section id="{anchor}"><h2>{esc(title)}</h2>{body}</section>'


def bullets(items: list[str]) -> str:
    """A list of already-escaped HTML items."""
    return "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"
