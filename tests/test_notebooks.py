"""The teaching notebooks: stored with their outputs (``make notebooks``), and each re-runs
end to end at small settings with outputs of the same structure as the stored ones."""

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


def structure(nb):
    """Per code cell: its source and the kinds of output it shows (stderr left out)."""
    return [
        (
            cell.source,
            sorted(
                {
                    (o.output_type, tuple(sorted(o.get("data", {}))))
                    for o in cell.outputs
                    if o.get("name") != "stderr"
                }
            ),
        )
        for cell in nb.cells
        if cell.cell_type == "code"
    ]


def test_the_four_notebooks_are_stored_with_their_outputs():
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04"]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert "parameters" in code[0].metadata.get("tags", []), path.name
        assert "assert " in code[-1].source, f"{path.name} ends without a checked takeaway"
        assert all(c.execution_count is not None for c in code), f"{path.name}: run make notebooks"
        kinds = {o.output_type for c in code for o in c.outputs}
        assert "error" not in kinds, path.name
        images = [o for c in code for o in c.outputs if "image/png" in o.get("data", {})]
        assert images, f"{path.name} shows no figure"


def test_the_kernel_is_this_interpreter(tmp_path, small):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys; sys.executable")])
    out = run(nb, tmp_path).cells[0].outputs[0]["data"]["text/plain"]
    assert Path(out.strip("'")).resolve() == Path(sys.executable).resolve()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, small):
    stored = nbformat.read(path, as_version=4)
    nb = nbformat.read(path, as_version=4)
    run(nb, tmp_path)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert structure(nb) == structure(stored), f"{path.name}: outputs differ; run make notebooks"
