"""Provenance: what produced a set of results, written next to them."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from mssim import __version__
from mssim.config.scenario import Scenario
from mssim.files import atomic_write_bytes
from mssim.registry import loaded_plugins


def git_commit() -> str | None:
    """The source tree's git commit (with ``-dirty`` if modified), when available."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


class Provenance:
    """Collects a run's provenance; :meth:`write` puts ``manifest.json`` in a folder.

    Args:
        scenario: The resolved scenario.
        command: What was run (default: this process's command line).
    """

    def __init__(self, scenario: Scenario, command: list[str] | None = None) -> None:
        self.scenario = scenario
        self.command = command if command is not None else list(sys.argv)
        self.started = datetime.now(UTC)
        self._clock = time.perf_counter()
        self.extra: dict[str, Any] = {}

    def manifest(self) -> dict[str, Any]:
        """The manifest as a dictionary."""
        return {
            "mssim_version": __version__,
            "git_commit": git_commit(),
            "seed": self.scenario.seed,
            "command": self.command,
            "started": self.started.isoformat(timespec="seconds"),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "wall_time_s": round(time.perf_counter() - self._clock, 3),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "platform": platform.platform(),
            "plugins": loaded_plugins(),
            **self.extra,
            "scenario": self.scenario.model_dump(mode="json"),
        }

    def write(self, folder: Path) -> Path:
        """Write ``folder/manifest.json`` atomically and return its path."""
        path = Path(folder) / "manifest.json"
        atomic_write_bytes(path, json.dumps(self.manifest(), indent=2).encode())
        return path
