"""Atomic writes: a file that exists is complete (the bottom floor of the package).

Every result file is written under a temporary name in its own folder and then
renamed into place, so an interrupted run never leaves half a file behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` under a temporary name, then rename it into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write a tidy table atomically as CSV at ``path`` and as Parquet beside it.

    Args:
        frame: The table.
        path: The CSV path; the Parquet file takes the same name with ``.parquet``.
    """
    atomic_write_bytes(path, frame.to_csv(index=False).encode())
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.parquet")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path.with_suffix(".parquet"))
