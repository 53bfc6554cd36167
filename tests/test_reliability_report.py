"""mssim report refuses malformed files and escapes what it did not write (issue 14)."""

import json
import shutil

import pandas as pd
import pytest

from mssim.commands.run import run_power
from mssim.config.load import load_scenario
from mssim.outputs.report import read_folder, render

ANSWER = {
    "target": 0.8,
    "n_per_arm": 131,
    "n_text": "131",
    "edge": None,
    "n_examined": [20, 171],
    "n_low": 122,
    "n_high": 140,
    "interval_text": "122 to 140",
    "total_n": 262,
    "expected_analysed": 236.5,
    "power": 0.801,
    "power_mcse": 0.009,
    "replicates": 1600,
    "method": "solved by search over n (--solve-n)",
}
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "run"
    run_power(load_scenario(None, ["power.n_per_arm=[20]"]), out=out, replicates=8, progress=False)
    return out


@pytest.fixture
def folder(written, tmp_path):
    """A copy of a run folder with a sample-size answer, without its report."""
    copy = tmp_path / "copy"
    shutil.copytree(written, copy)
    (copy / "report.html").unlink()
    (copy / "sample_size.json").write_text(json.dumps(ANSWER))
    return copy


def refused(cli, folder, *names):
    """Run mssim report; it must exit 2 naming the file (and ``names``), writing nothing."""
    status, _, err = cli("report", folder)
    assert status == 2, err
    assert "Traceback" not in err
    for name in names:
        assert name in err, err
    assert sorted(p.name for p in folder.iterdir() if "report" in p.name) == []
    return err


def test_a_good_folder_is_reported_without_leftovers(cli, folder):
    assert cli("report", folder)[0] == 0
    assert sorted(p.name for p in folder.iterdir() if "report" in p.name) == ["report.html"]


@pytest.mark.parametrize(
    "field, value",
    [
        ("n_per_arm", SCRIPT),
        ("target", SCRIPT),
        ("replicates", "1600"),
        ("power", float("nan")),
        ("target", 80),
        ("n_low", -1),
        ("note", SCRIPT),
    ],
)
def test_a_malformed_sample_size_json_is_refused_naming_the_field(cli, folder, field, value):
    path = folder / "sample_size.json"
    path.write_text(json.dumps(ANSWER | {field: value}))
    refused(cli, folder, f"{path}: ", f"{field}: ")


def test_a_sample_size_json_that_is_not_an_object_is_refused(cli, folder):
    path = folder / "sample_size.json"
    for text in ("", "[1, 2]", '{"target": ', "\xff\xfe"):
        path.write_text(text, encoding="latin-1")
        refused(cli, folder, f"{path}: ")


@pytest.mark.parametrize(
    "field, value",
    [("seed", "abc"), ("grid", [1, 2]), ("grid", {"dropout.rate": SCRIPT}), ("lhs", 0)],
)
def test_a_malformed_manifest_json_is_refused_naming_the_field(cli, folder, field, value):
    path = folder / "manifest.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | {field: value}))
    refused(cli, folder, f"{path}: ", f"{field}")


def test_a_manifest_that_is_not_json_is_refused(cli, folder):
    (folder / "manifest.json").write_bytes(b"\x00garbage")
    refused(cli, folder, f"{folder / 'manifest.json'}: not valid JSON")


@pytest.mark.parametrize(
    "damage, named",
    [
        (lambda t: t.replace("power_mcse", "power_msce"), "missing column(s) power_mcse"),
        (lambda t: t.replace(",0.", ",x<b>", 1), "expected a number"),
        (lambda t: t.split("\n")[0] + "\n", "has no rows"),
        (lambda t: "\x00\x01garbage\n\x02", "missing column"),
        (lambda t: "", "not a readable CSV table"),
    ],
    ids=["missing column", "text for a number", "no rows", "garbage", "empty"],
)
def test_a_malformed_power_csv_is_refused_naming_the_column(cli, folder, damage, named):
    path = folder / "power.csv"
    path.write_text(damage(path.read_text()))
    refused(cli, folder, f"{path}: ", named)


def test_a_breakdown_without_its_parts_is_refused(cli, folder):
    path = folder / "power.csv"
    frame = pd.read_csv(path)
    assert "breakdown_true_effect" in frame.columns
    frame.drop(columns="effect_specific").to_csv(path, index=False)
    refused(cli, folder, f"{path}: missing column(s) effect_specific")


def test_a_fractional_n_per_arm_is_refused(cli, folder):
    path = folder / "power.csv"
    lines = path.read_text().split("\n")
    column = lines[0].split(",").index("n_per_arm")
    cells = lines[1].split(",")
    cells[column] = "20.5"
    path.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]))
    refused(cli, folder, "column n_per_arm, row 1: expected a whole number")


def test_text_the_report_did_not_write_is_escaped(cli, folder):
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps(manifest | {"git_commit": SCRIPT, "command": [SCRIPT]}))
    assert cli("report", folder)[0] == 0
    page = (folder / "report.html").read_text()
    assert "<script" not in page and "&lt;script&gt;alert(1)" in page


def test_sample_size_values_are_escaped_even_if_unchecked(folder):
    """The page escapes answer text itself; validation is not its only guard.

    Text fields are escaped; numeric fields go through number formats, so a string
    there cannot reach the page (formatting it raises).
    """
    found = read_folder(folder)
    text = ("n_text", "interval_text", "method", "edge")
    found.sample_size = ANSWER | dict.fromkeys(text, SCRIPT)
    page = render(found)
    assert "<script" not in page
    assert page.count("&lt;script&gt;") >= 3
    for field in ("n_per_arm", "total_n", "replicates", "expected_analysed", "power"):
        found.sample_size = ANSWER | {field: SCRIPT}
        with pytest.raises((TypeError, ValueError)):
            render(found)


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("boundaries.csv", "n_per_arm,look,information_fraction,efficacy_z,futility_z,"),
        ("assurance.csv", "analysis,endpoint,contrast,n_per_arm,replicates,assurance,"),
    ],
)
def test_a_malformed_boundaries_or_assurance_table_is_refused(cli, folder, name, header):
    # a group-sequential run's boundaries and an assurance run's table, each cut short
    (folder / name).write_text(header + "\n1,2,x,y\n")
    refused(cli, folder, str(folder / name), "missing column(s)")
