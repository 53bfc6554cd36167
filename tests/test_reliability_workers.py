"""Worker processes die with their parent (issue 14)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parent.parent


def children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``pid``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            state, ppid = stat.rpartition(")")[2].split()[:2]
            if int(ppid) == pid and state != "Z":
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def test_workers_exit_after_their_parent_is_killed(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, "-m", "mssim.commands.cli", "run", "--jobs", "2"]
    command += ["--replicates", "20000", "--chunk-size", "20", "--out", str(out)]
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE)
    try:
        wait_for_chunks(out, proc)
    except AssertionError:
        proc.kill()
        raise
    workers = children(proc.pid)  # two loky workers and loky's resource tracker
    assert sum(b"LokyProcess" in _cmdline(pid) for pid in workers) == 2, workers
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [pid for pid in workers if alive(pid)]
    for pid in left:  # do not leave them running if the test fails
        os.kill(pid, signal.SIGKILL)
    assert left == []


def wait_for_chunks(out: Path, proc: subprocess.Popen, timeout: float = 300) -> None:
    """Wait until two chunks are finished (so the workers are computing)."""
    start = time.monotonic()
    while len(list((out / "chunks").glob("chunk-*.npz"))) < 2:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() - start < timeout
        time.sleep(0.1)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
