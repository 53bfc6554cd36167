"""Output folders: nothing lost, nothing overwritten, nothing left behind (issue 14)."""

import json
import os
import subprocess
import sys

import pytest

from mssim.commands.folders import MARKER, check_folder, slug
from mssim.errors import MssimError
from mssim.files import atomic_write_bytes, write_table

TINY_RUN = ["--replicates", 2, "--set", "power.n_per_arm=[4]", "--set", "power.chunk_size=2"]


def snapshot(folder):
    """Every file under a folder with its bytes."""
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A working folder holding a user's file; the command runs inside it."""
    home = tmp_path / "work"
    home.mkdir()
    (home / "thesis.txt").write_text("four years of work")
    monkeypatch.chdir(home)
    return home


@pytest.mark.parametrize("out", [".", "thesis_folder"])
def test_simulate_never_replaces_a_folder_it_did_not_write(workdir, cli, out):
    (workdir / "thesis_folder").mkdir()
    (workdir / "thesis_folder" / "thesis.txt").write_text("chapter 1")
    before = snapshot(workdir)
    status, _, err = cli("simulate", "--n", 4, "--out", out)
    assert status == 2 and "was not written by mssim" in err and "Traceback" not in err
    assert snapshot(workdir) == before
    assert sorted(p.name for p in workdir.iterdir()) == ["thesis.txt", "thesis_folder"]


@pytest.mark.parametrize("command", [["run", *TINY_RUN], ["literature", "--studies", 2]])
def test_run_and_literature_refuse_a_folder_they_did_not_write(workdir, cli, command):
    before = snapshot(workdir)
    status, _, err = cli(*command, "--out", ".")
    assert status == 2 and "was not written by mssim" in err
    assert snapshot(workdir) == before


def test_sweep_refuses_a_folder_it_did_not_write(workdir, cli):
    before = snapshot(workdir)
    status, _, err = cli("sweep", "--grid", "dropout.rate=0.1", *TINY_RUN, "--out", ".")
    assert status == 2 and "was not written by mssim" in err
    assert snapshot(workdir) == before


def test_out_that_is_a_file_is_refused(workdir, cli):
    status, _, err = cli("simulate", "--n", 4, "--out", "thesis.txt")
    assert status == 2 and "thesis.txt: exists and is not a folder" in err
    status, _, err = cli("run", *TINY_RUN, "--out", "thesis.txt/inside")
    assert status == 2 and "thesis.txt is a file" in err
    assert (workdir / "thesis.txt").read_text() == "four years of work"


def test_simulate_refreshes_its_own_folder_but_not_one_a_user_added_to(workdir, cli):
    assert cli("simulate", "--n", 4, "--out", "one")[0] == 0
    assert cli("simulate", "--n", 5, "--out", "one")[0] == 0  # another run: replaced
    manifest = json.loads((workdir / "one" / "manifest.json").read_text())
    assert manifest["n_per_arm"] == 5
    (workdir / "one" / "notes.txt").write_text("mine")
    status, _, err = cli("simulate", "--n", 6, "--out", "one")
    assert status == 2 and "different run" in err
    assert (workdir / "one" / "notes.txt").read_text() == "mine"
    assert json.loads((workdir / "one" / "manifest.json").read_text())["n_per_arm"] == 5


def test_empty_folder_is_used_and_marked(workdir, cli):
    (workdir / "empty").mkdir()
    assert cli("run", *TINY_RUN, "--out", "empty")[0] == 0
    marker = json.loads((workdir / "empty" / MARKER).read_text())
    assert marker["kind"] == "run" and len(marker["key"]) == 16
    assert (workdir / "empty" / "power.csv").is_file()


def test_a_folder_of_another_kind_is_refused(workdir, cli):
    assert cli("simulate", "--n", 4, "--out", "one")[0] == 0
    status, _, err = cli("run", *TINY_RUN, "--out", "one")
    assert status == 2 and "holds mssim simulate results, not run results" in err


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("/tmp/escape", "tmp-escape"),
        ("../../../x", "x"),
        ("..", "scenario"),
        ("", "scenario"),
        ("a\x00b", "a-b"),
        ("x" * 300, "x" * 60),
        ("Fatigue trial (2026) é", "Fatigue-trial-2026-e"),
        ("default", "default"),
    ],
)
def test_slug(name, expected):
    assert slug(name) == expected


@pytest.mark.parametrize("name", ["/tmp/escape", "../../../x", "a\\u0000b", "y" * 300])
@pytest.mark.parametrize("command", [["run", *TINY_RUN], ["literature", "--studies", 2]])
def test_scenario_name_cannot_send_results_outside_results(workdir, cli, name, command):
    path = workdir.parent / "named.toml"
    path.write_text(f'name = "{name}"\n')
    status, _, err = cli(command[0], path, *command[1:])
    assert status == 0, err
    written = [p for p in workdir.parent.rglob("*") if p.is_file()]
    outside = [p for p in written if workdir / "results" not in p.parents]
    assert sorted(p.name for p in outside) == ["named.toml", "thesis.txt"]
    (folder,) = (workdir / "results").iterdir()
    assert folder.name == slug(name.replace("\\u0000", "\x00"))


def test_sweep_name_stays_under_results(workdir, cli):
    path = workdir.parent / "named.toml"
    path.write_text('name = "../../escape"\n')
    status, _, err = cli("sweep", path, "--grid", "dropout.rate=0.1", *TINY_RUN)
    assert status == 0, err
    assert [p.name for p in (workdir / "results").iterdir()] == ["escape"]
    assert not (workdir.parent.parent / "escape").exists()


def test_refused_analysis_leaves_no_folder(workdir, cli):
    for analysis in (["crossover"], ["ancova", "ancova"]):
        flags = [arg for a in analysis for arg in ("--analysis", a)]
        status, _, err = cli("run", *TINY_RUN, *flags, "--out", "refused")
        assert status == 2 and "analysis" in err
        assert not (workdir / "refused").exists()


def test_check_folder_writes_nothing(tmp_path):
    with pytest.raises(MssimError, match="different run"):
        (tmp_path / "f").mkdir()
        (tmp_path / "f" / MARKER).write_text(json.dumps({"kind": "run", "key": "a"}))
        check_folder(tmp_path / "f", "run", "b")
    check_folder(tmp_path / "new" / "deeper", "run", "b")
    assert not (tmp_path / "new").exists()


def test_failed_atomic_writes_leave_no_temporary_file(tmp_path):
    import pandas as pd

    (tmp_path / "taken.csv").mkdir()  # renaming onto a folder fails
    with pytest.raises(IsADirectoryError):
        atomic_write_bytes(tmp_path / "taken.csv", b"x")
    (tmp_path / "t.parquet").mkdir()
    with pytest.raises(IsADirectoryError):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "t.parquet", "taken.csv"]


def test_staging_left_by_a_killed_simulate_is_removed(workdir, cli):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = workdir / f".one.mssim-{dead.pid}.tmp"
    stale.mkdir()
    (stale / MARKER).write_text(json.dumps({"kind": "simulate", "key": "k"}))
    (stale / "daily.csv").write_bytes(b"x" * 1000)
    not_ours = workdir / f".one.mssim-{dead.pid + 1}.tmp"  # same pattern, no marker
    not_ours.mkdir()
    alive = workdir / f".one.mssim-{os.getppid()}.tmp"  # a running process's staging
    alive.mkdir()
    (alive / MARKER).write_text("{}")
    assert cli("simulate", "--n", 4, "--out", "one")[0] == 0
    assert not stale.exists() and not_ours.is_dir() and alive.is_dir()
    hidden = sorted(p.name for p in workdir.iterdir() if p.name.startswith("."))
    assert hidden == sorted([not_ours.name, alive.name])


def test_terminated_simulate_leaves_no_staging_folder(tmp_path):
    """SIGTERM is handled like Ctrl-C: the staging folder is removed on the way out."""
    code = (
        "import os, signal\n"
        "import mssim.commands.simulate as s\n"
        "original = s.write_figure\n"
        "def stop(*a, **k):\n"
        "    original(*a, **k)\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "s.write_figure = stop\n"
        "from mssim.commands.cli import main\n"
        "raise SystemExit(main(['simulate', '--n', '4', '--out', 'one']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 130, done.stderr
    assert list(tmp_path.iterdir()) == []


def test_os_errors_exit_2_naming_the_path(tmp_path, cli):
    """A folder that cannot be created (here under /proc) is a message, not a traceback."""
    status, _, err = cli("run", *TINY_RUN, "--out", "/proc/mssim-cannot/x")
    assert status == 2 and "/proc/mssim-cannot" in err and "Traceback" not in err
