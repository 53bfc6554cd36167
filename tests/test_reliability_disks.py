"""Read-only and full disks (issue 14): exit 2 naming the path, nothing half-written.

Each test mounts a 1 MiB tmpfs, which needs root; elsewhere the tests are
skipped, saying why.
"""

import json
import os
import shutil
import subprocess

import pandas as pd
import pytest

from mssim.montecarlo.parallel import decode_chunk

RUN = ["--replicates", 8, "--chunk-size", 4, "--set", "power.n_per_arm=[10]"]


@pytest.fixture
def disk(tmp_path):
    """A fresh 1 MiB tmpfs (root only)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def read_only(mount):
    subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)


def fill(mount, free):
    """Fill the disk, then free about ``free`` bytes."""
    filler = mount / "filler"
    handle = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(handle, b"\0" * 4096):
            pass
    except OSError:  # the disk is full
        pass
    finally:
        os.close(handle)
    os.truncate(filler, max(filler.stat().st_size - free, 0))


def assert_nothing_half_written(mount):
    """No temporary file is left, and every file mssim left is complete."""
    for path in mount.rglob("*"):
        assert "tmp" not in path.name, path
        if path.suffix == ".csv":
            assert len(pd.read_csv(path)) > 0
        elif path.suffix == ".json":
            json.loads(path.read_text())
        elif path.name.startswith("chunk-"):
            key = (path.parent / "RUN_KEY").read_text()
            index = int(path.stem.split("-")[1])
            assert isinstance(decode_chunk(path.read_bytes(), key, index, 4), dict), path
        elif path.suffix == ".html":
            assert path.read_text().endswith("</html>")


def test_run_into_a_read_only_disk(disk, cli):
    read_only(disk)
    status, _, err = cli("run", *RUN, "--out", disk / "run")
    assert status == 2 and f"{disk / 'run'}: Read-only file system" in err
    assert "Traceback" not in err and list(disk.iterdir()) == []


def test_simulate_into_a_read_only_disk(disk, cli):
    read_only(disk)
    status, _, err = cli("simulate", "--n", 10, "--out", disk / "sim")
    assert status == 2 and str(disk) in err and "Read-only file system" in err
    assert "Traceback" not in err and list(disk.iterdir()) == []


def test_report_on_a_read_only_disk(disk, cli, tmp_path):
    assert cli("run", *RUN, "--out", tmp_path / "run")[0] == 0
    shutil.copytree(tmp_path / "run", disk / "run")
    (disk / "run" / "report.html").unlink()
    read_only(disk)
    status, _, err = cli("report", disk / "run")
    assert status == 2 and f"{disk / 'run' / 'report.html'}: Read-only file system" in err
    assert "Traceback" not in err and not (disk / "run" / "report.html").exists()


@pytest.mark.parametrize("free", [0, 16_384, 131_072, 393_216])
def test_run_onto_a_full_disk(disk, cli, free):
    fill(disk, free)
    status, _, err = cli("run", *RUN, "--out", disk / "run")
    assert "Traceback" not in err
    if free == 0:
        assert status == 2
    assert status in (0, 2)
    if status == 2:
        assert f"{disk / 'run'}" in err and "No space left on device" in err, err
    assert_nothing_half_written(disk)


@pytest.mark.parametrize("free", [0, 16_384, 131_072])
def test_simulate_onto_a_full_disk(disk, cli, free):
    fill(disk, free)
    status, _, err = cli("simulate", "--n", 10, "--out", disk / "sim")
    assert status == 2 and "No space left on device" in err and str(disk) in err, err
    assert "Traceback" not in err
    assert sorted(p.name for p in disk.iterdir()) == ["filler"]  # no staging folder left
