"""Output folders: mssim writes only into folders it created, and deletes nothing else.

An output folder is usable when it does not exist yet (it is created), when it
is an empty folder, or when it is an mssim folder of the same run: it holds
the marker file :data:`MARKER` with the same kind and run key (a resumed run).
``mssim simulate`` may also refresh an earlier ``simulate`` folder when that
folder holds nothing but the files mssim wrote there. Anything else is refused
with a message naming the folder, before any work is done.

Default folders sit under ``results/<slug of the scenario name>/``, so a
scenario's ``name`` can never send results outside ``results/``.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from datetime import datetime
from pathlib import Path

from mssim import __version__
from mssim.errors import MssimError
from mssim.files import atomic_write_bytes

MARKER = ".mssim-folder.json"
RESULTS = Path("results")
SLUG_LENGTH = 60
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def slug(name: str) -> str:
    """A safe folder name for a scenario name.

    Letters, digits, ``.``, ``_`` and ``-`` are kept (accents are dropped);
    every other run of characters becomes one ``-``. Leading dots and dashes
    are removed (no hidden folders, no ``..``), and the result is at most
    :data:`SLUG_LENGTH` characters. An empty result becomes ``scenario``.

    Args:
        name: The scenario's name, as given.

    Returns:
        The folder name.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = _UNSAFE.sub("-", ascii_name).lstrip(".-")[:SLUG_LENGTH].rstrip(".-")
    return text or "scenario"


def default_folder(scenario_name: str, kind: str, root: Path = RESULTS) -> Path:
    """A new timestamped folder ``root/<slug>/<kind>-<timestamp>`` that does not exist yet.

    Args:
        scenario_name: The scenario's name (slugged).
        kind: What the folder holds (``run``, ``sweep``, ``literature``, ...).
        root: The results root.

    Returns:
        A path under ``root`` that does not exist (a suffix ``-2``, ``-3``, ...
        is added when two runs start in the same second).
    """
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = root / slug(scenario_name)
    name = stamp if kind == "run" else f"{kind}-{stamp}"
    folder, k = base / name, 1
    while os.path.lexists(folder):
        k += 1
        folder = base / f"{name}-{k}"
    return folder


def read_marker(folder: Path) -> dict[str, object] | None:
    """The marker of an mssim folder, or None if it has none (or an unreadable one)."""
    path = Path(folder) / MARKER
    if path.is_symlink() or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def check_folder(folder: Path, kind: str, key: str, refreshable: bool = False) -> None:
    """Refuse an output folder mssim may not write into; writes nothing.

    Args:
        folder: The output folder.
        kind: What mssim writes there (``run``, ``sweep``, ``simulate``, ...).
        key: The run key: a hash of everything that determines the results.
        refreshable: Also accept an mssim folder of the same kind and another
            key whose entries are all files mssim wrote (``simulate``).

    Raises:
        MssimError: Naming the folder, if it is a file, not empty and not
            written by mssim, or an mssim folder of another run.
    """
    folder = Path(folder)
    if not os.path.lexists(folder):
        _check_parent(folder)
        return
    if not folder.is_dir():
        raise MssimError(f"{folder}: exists and is not a folder; give --out a new or empty folder")
    try:
        entries = {entry.name for entry in folder.iterdir()}
    except OSError as err:
        raise MssimError(f"{folder}: cannot read the folder: {err.strerror}") from None
    if not entries:
        return
    marker = read_marker(folder)
    if marker is None:
        raise MssimError(
            f"{folder}: is not empty and was not written by mssim; mssim never writes into "
            "or deletes other folders; give --out a new or empty folder"
        )
    if marker.get("kind") != kind:
        raise MssimError(
            f"{folder}: holds mssim {marker.get('kind')} results, not {kind} results; "
            "give --out a new or empty folder"
        )
    if marker.get("key") == key:
        return
    written = marker.get("files")
    if refreshable and isinstance(written, list) and entries <= {MARKER, *map(str, written)}:
        return
    raise MssimError(
        f"{folder}: holds results of a different run (the scenario or run settings "
        "changed); choose another --out folder or delete this one"
    )


def _check_parent(folder: Path) -> None:
    """Refuse a folder whose nearest existing parent is a file."""
    for parent in folder.parents:
        if os.path.lexists(parent):
            if not parent.is_dir():
                raise MssimError(f"{folder}: {parent} is a file, not a folder")
            return


def open_folder(
    folder: Path,
    kind: str,
    key: str,
    refreshable: bool = False,
    files: list[str] | None = None,
) -> Path:
    """Check an output folder, create it if needed and mark it as mssim's.

    Args:
        folder: The output folder.
        kind: What mssim writes there.
        key: The run key.
        refreshable: As for :func:`check_folder`.
        files: The files mssim writes there (kept in the marker so a later
            ``simulate`` may refresh them).

    Returns:
        The folder.

    Raises:
        MssimError: As for :func:`check_folder`.
    """
    folder = Path(folder)
    check_folder(folder, kind, key, refreshable)
    folder.mkdir(parents=True, exist_ok=True)
    write_marker(folder, kind, key, files)
    return folder


def write_marker(folder: Path, kind: str, key: str, files: list[str] | None = None) -> None:
    """Write the marker that makes ``folder`` an mssim folder of this run."""
    marker: dict[str, object] = {"mssim": __version__, "kind": kind, "key": key}
    if files is not None:
        marker["files"] = sorted(files)
    atomic_write_bytes(Path(folder) / MARKER, json.dumps(marker, indent=2).encode())
