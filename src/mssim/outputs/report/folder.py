"""A results folder as the report reads it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mssim.config.load import validate
from mssim.config.scenario import Scenario
from mssim.errors import MssimError
from mssim.outputs.report.inputs import (
    ASSURANCE_NUMBERS,
    ASSURANCE_TEXT,
    BOUNDARY_NUMBERS,
    CURVE_NUMBERS,
    CURVE_TEXT,
    RESULT_NUMBERS,
    RESULT_TEXT,
    SENSITIVITY_NUMBERS,
    SENSITIVITY_TEXT,
    CrossCheckFile,
    ManifestFile,
    MatchedNullFile,
    SampleSizeFile,
    read_json,
    read_table,
)

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
    assurance: pd.DataFrame | None = None
    boundaries: pd.DataFrame | None = None
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
        MssimError: If the folder is missing or holds no results, or naming
            the file and field, if a file is malformed (:mod:`.inputs`).
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
    if (folder / "manifest.json").is_file():
        found.manifest = read_json(folder / "manifest.json", ManifestFile)
    for attr, name, model in (
        ("sample_size", "sample_size.json", SampleSizeFile),
        ("matched_null", "matched_null.json", MatchedNullFile),
        ("crosscheck", "crosscheck.json", CrossCheckFile),
    ):
        if (folder / name).is_file():
            setattr(found, attr, read_json(folder / name, model))
    for attr, name, text, numbers in (
        ("power", "power.csv", RESULT_TEXT, RESULT_NUMBERS),
        ("sweep", "sweep.csv", RESULT_TEXT, ("cell", *RESULT_NUMBERS)),
        ("sample_curve", "sample_size.csv", CURVE_TEXT, CURVE_NUMBERS),
        ("assurance", "assurance.csv", ASSURANCE_TEXT, ASSURANCE_NUMBERS),
        ("boundaries", "boundaries.csv", (), BOUNDARY_NUMBERS),
        ("sensitivity", "sensitivity.csv", SENSITIVITY_TEXT, SENSITIVITY_NUMBERS),
        ("studies", "studies.csv", (), ()),
        ("meta", "meta.csv", (), ()),
    ):
        if (folder / name).is_file():
            results = attr in ("power", "sweep")
            setattr(found, attr, read_table(folder / name, text, numbers, breakdown=results))
    if "scenario" in found.manifest:
        try:
            found.scenario = validate(found.manifest["scenario"], str(folder / "manifest.json"))
        except MssimError as err:  # results of another mssim version: report what we can
            found.scenario_error = str(err)
    return found
