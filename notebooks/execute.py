"""Execute the teaching notebooks in place, storing their outputs.

Run from the repository root (``make notebooks``): each notebook runs at its
full settings with the scenario files of ``scenarios/``, and is written back
with its outputs so a reader on a code host sees the figures and numbers.
``tests/test_notebooks.py`` re-executes them at small settings and compares
the structure of the outputs with the stored ones.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

FOLDER = Path(__file__).parent


def execute(path: Path) -> None:
    """Run one notebook from its own folder and write it back with its outputs."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=3600, kernel_name="python3", resources={"metadata": {"path": str(FOLDER)}}
    ).execute()
    nbformat.write(nb, path)


if __name__ == "__main__":
    for name in sys.argv[1:] or sorted(p.name for p in FOLDER.glob("*.ipynb")):
        print(f"executing {name}", flush=True)
        execute(FOLDER / name)
