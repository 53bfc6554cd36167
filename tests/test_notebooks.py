"""The teaching notebooks: stored without outputs, and each runs end to end (small settings)."""

import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def run(nb, folder):
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    return nb


@pytest.fixture
def small(monkeypatch):
    """The kernel inherits this environment: tiny settings, scenario files by absolute path."""
    monkeypatch.setenv("MSSIM_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("MSSIM_SCENARIOS", str(ROOT / "scenarios"))
    monkeypatch.setenv("MPLBACKEND", "Agg")


def test_the_four_notebooks_exist_without_outputs():
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04"]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert "parameters" in code[0].metadata.get("tags", []), path.name
        assert all(not c.outputs and c.execution_count is None for c in code), path.name
        assert "assert " in code[-1].source, f"{path.name} ends without a checked takeaway"


def test_the_kernel_is_this_interpreter(tmp_path, small):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys; sys.executable")])
    out = run(nb, tmp_path).cells[0].outputs[0]["data"]["text/plain"]
    assert Path(out.strip("'")).resolve() == Path(sys.executable).resolve()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, small):
    nb = nbformat.read(path, as_version=4)
    run(nb, tmp_path)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
