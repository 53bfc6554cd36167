"""Atomic writes: a file that exists is complete (the bottom floor of the package).

Every result file is written under a temporary name in its own folder and then
renamed into place, so an interrupted run never leaves half a file behind, and
a failed write (a full disk, a read-only folder) leaves no temporary file.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd


def _replace_from_temporary(path: Path, tmp: Path, write: Callable[[Path], None]) -> None:
    """Write ``tmp`` with ``write``, then rename it to ``path``; never leave ``tmp`` behind.

    Raises:
        OSError: Naming ``path`` (not the temporary file), e.g. for a full or
            read-only disk.
    """
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as err:  # a failed write() names no file: name the one being written
        raise OSError(err.errno, err.strerror, str(path)) from None
    finally:
        if os.path.lexists(tmp):
            tmp.unlink()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` under a temporary name, then rename it into place.

    The temporary file is created anew (links are not followed) and removed
    on any failure.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    _replace_from_temporary(path, tmp, lambda t: _write_new(t, data))


def _write_new(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file; a file or symbolic link already there is removed first."""
    path.unlink(missing_ok=True)
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
    with os.fdopen(handle, "wb") as file:
        file.write(data)


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write a tidy table atomically as CSV at ``path`` and as Parquet beside it.

    Args:
        frame: The table.
        path: The CSV path; the Parquet file takes the same name with ``.parquet``.
    """
    path = Path(path)
    atomic_write_bytes(path, frame.to_csv(index=False).encode())
    write_parquet(frame, path.with_suffix(".parquet"))


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a table atomically as Parquet (pyarrow) at ``path``, without its index."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.parquet")
    _replace_from_temporary(path, tmp, lambda t: frame.to_parquet(t, index=False))


def write_figure(figure: Any, path: Path) -> None:
    """Save a matplotlib figure as PNG at ``path`` and as SVG beside it, atomically.

    Args:
        figure: The matplotlib figure.
        path: The PNG path (100 dpi, tight box); the SVG takes the same name
            with ``.svg`` (vector, for print and editing).
    """
    path = Path(path)
    for target, kind in ((path, "png"), (path.with_suffix(".svg"), "svg")):
        buffer = io.BytesIO()
        figure.savefig(buffer, format=kind, dpi=100, bbox_inches="tight")
        atomic_write_bytes(target, buffer.getvalue())
