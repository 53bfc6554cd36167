"""A results folder as the report reads it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mssim.config.load import validate
from mssim.config.scenario import Scenario
from mssim.errors import MssimError

RESULT_FILES = ("power.csv", "sweep.csv", "sensitivity.csv", "studies.csv", "meta.csv")


@dataclass
class Folder:
    """What a results folder holds (None or empty where a file is absent)."""

    path: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    scenario: Scenario | None = None
    scenario_error: str | None = None
    power: pd.DataFrame | None = None
    sweep: pd.DataFrame | None = None
    sample_size: dict[str, Any] | None = None
    sample_curve: pd.DataFrame | None = None
    matched_null: dict[str, Any] | None = None
    crosscheck: dict[str, Any] | None = None
    sensitivity: pd.DataFrame | None = None
    studies: pd.DataFrame | None = None
    meta: pd.DataFrame | None = None

    @property
    def target(self) -> float:
        """Target power of the scenario (0.8 when the scenario is unknown)."""
        return self.scenario.power.target if self.scenario else 0.8

    @property
    def results(self) -> pd.DataFrame | None:
        """The operating characteristics: the sweep's or the run's."""
        return self.sweep if self.sweep is not None else self.power

    @property
    def grid(self) -> dict[str, list[float]]:
        """Swept fields and their values (empty for a plain run)."""
        return self.manifest.get("grid") or {}


def read_folder(folder: Path) -> Folder:
    """Read every file the report uses from a results folder.

    Raises:
        MssimError: If the folder is missing, holds no results, or a file
            cannot be read.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise MssimError(f"{folder}: no such results folder")
    if not any((folder / name).is_file() for name in RESULT_FILES):
        raise MssimError(
            f"{folder}: no results to report; expected one of {', '.join(RESULT_FILES)} "
            "(write them with 'mssim run --out DIR' or 'mssim sweep --out DIR')"
        )
    found = Folder(folder)
    try:
        if (folder / "manifest.json").is_file():
            found.manifest = json.loads((folder / "manifest.json").read_text())
        for attr, name in (
            ("sample_size", "sample_size.json"),
            ("matched_null", "matched_null.json"),
            ("crosscheck", "crosscheck.json"),
        ):
            if (folder / name).is_file():
                setattr(found, attr, json.loads((folder / name).read_text()))
        for attr, name in (
            ("power", "power.csv"),
            ("sweep", "sweep.csv"),
            ("sample_curve", "sample_size.csv"),
            ("sensitivity", "sensitivity.csv"),
            ("studies", "studies.csv"),
            ("meta", "meta.csv"),
        ):
            if (folder / name).is_file():
                setattr(found, attr, pd.read_csv(folder / name))
    except (OSError, ValueError) as err:  # JSONDecodeError and pandas' parser errors
        raise MssimError(f"{folder}: cannot read the results: {err}") from None
    if "scenario" in found.manifest:
        try:
            found.scenario = validate(found.manifest["scenario"], str(folder / "manifest.json"))
        except MssimError as err:  # results of another mssim version: report what we can
            found.scenario_error = str(err)
    return found
