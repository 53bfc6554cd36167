"""What the report accepts from a results folder's files.

``mssim report`` may be pointed at a folder someone else wrote or edited, so
every file it reads is checked before anything is drawn: ``sample_size.json``
and ``manifest.json`` against the fields mssim writes there, and each results
table for the columns the report reads, with numbers where numbers belong.
A file that fails is refused (exit 2) with its path, the field or column and
what was given; the report is not written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mssim.errors import MssimError
from mssim.outputs.report.breakdown import PART_HEADINGS

_FINITE = ConfigDict(allow_inf_nan=False, strict=True)


class SampleSizeFile(BaseModel):
    """``sample_size.json``: a run's one answer (``Headline.as_dict``)."""

    model_config = ConfigDict(**_FINITE, extra="forbid")

    target: float = Field(gt=0, lt=1)
    n_per_arm: int | None = Field(ge=1)
    n_text: str
    edge: Literal["at or below", "above"] | None
    n_examined: list[int] = Field(min_length=2, max_length=2)
    n_low: int | None = Field(ge=1)
    n_high: int | None = Field(ge=1)
    interval_text: str
    total_n: int | None = Field(ge=1)
    expected_analysed: float | None = Field(ge=0)
    power: float = Field(ge=0, le=1)
    power_mcse: float = Field(ge=0, le=1)
    replicates: int = Field(ge=1)
    method: str


class TypeIErrorRow(BaseModel):
    """One n per arm of ``matched_null.json``."""

    model_config = ConfigDict(**_FINITE, extra="forbid")

    n_per_arm: int = Field(ge=1)
    type_i_error: float = Field(ge=0, le=1)
    mcse: float = Field(ge=0, le=1)
    ci_low: float = Field(ge=0, le=1)
    ci_high: float = Field(ge=0, le=1)
    replicates: int = Field(ge=1)


class MatchedNullFile(BaseModel):
    """``matched_null.json`` (``MatchedNull.as_dict``)."""

    model_config = ConfigDict(**_FINITE, extra="forbid")

    overrides: dict[str, Any]
    true_effect: float
    defined: bool
    undefined_reason: str | None = None
    alpha_rows: list[TypeIErrorRow] = Field(min_length=1)


class CrossCheckFile(BaseModel):
    """``crosscheck.json`` (``CrossCheck.as_dict``)."""

    model_config = ConfigDict(**_FINITE, extra="forbid")

    effect: float
    outcome_sd: float = Field(ge=0)
    correlation: float = Field(ge=-1, le=1)
    sd_ratio: float = Field(ge=0)
    skewness: float
    dropout: float = Field(ge=0, le=1)
    n_formula: int = Field(ge=1)
    n_ttest: int = Field(ge=1)
    n_simulated: int | None = Field(ge=1)
    ratio: float | None = Field(gt=0)
    reasons: list[str]
    replicates: int = Field(ge=1)
    n_per_arm: int = Field(ge=1)


class ManifestFile(BaseModel):
    """The fields of ``manifest.json`` the report shows (others are kept, unread).

    The scenario it holds is validated as a scenario (:func:`mssim.config.load.validate`).
    """

    model_config = ConfigDict(**_FINITE, extra="allow")

    mssim_version: str | None = None
    git_commit: str | None = None
    seed: int | None = None
    command: list[str] | str | None = None
    started: str | None = None
    finished: str | None = None
    wall_time_s: float | None = None
    replicates: int | None = None
    python: str | None = None
    numpy: str | None = None
    platform: str | None = None
    scenario: dict[str, Any] | None = None
    grid: dict[str, list[float | int | str | bool]] | None = None
    lhs: int | None = Field(default=None, ge=1)


# Columns of a run's or a sweep's results table that the report reads.
RESULT_TEXT = ("analysis", "endpoint", "contrast", "estimand")
RESULT_NUMBERS = (
    "n_per_arm",
    "replicates",
    "power",
    "power_mcse",
    "power_ci_low",
    "power_ci_high",
    "true_effect",
    "bias",
    "bias_mcse",
    "rmse",
    "coverage",
    "coverage_mcse",
    "type_s",
    "type_s_mcse",
    "exaggeration",
    "exaggeration_mcse",
    "dropout_fraction",
)
COUNTS = ("n_per_arm", "replicates", "cell")
# Columns of the true effect's breakdown, read when a results table has one.
BREAKDOWN_NUMBERS = (*PART_HEADINGS, "breakdown_replicates")
# Columns of sensitivity.csv (a Morris screening) that the report reads.
SENSITIVITY_TEXT = ("field", "status", "range_note")
SENSITIVITY_NUMBERS = (
    "rank", "value", "low", "high", "mu_star", "mu_star_conf", "sigma", "power_low", "power_high",
)  # fmt: skip
# Columns of sample_size.csv (the fine pass), drawn as a power curve.
ASSURANCE_TEXT = ("analysis", "endpoint", "contrast")
ASSURANCE_NUMBERS = (
    "n_per_arm",
    "replicates",
    "assurance",
    "assurance_mcse",
    "power_at_centre",
    "power_at_centre_mcse",
    "true_effect_mean",
    "true_effect_sd",
    "estimate_q2.5",
    "estimate_q50",
    "estimate_q97.5",
)
BOUNDARY_NUMBERS = (
    "n_per_arm",
    "look",
    "information_fraction",
    "efficacy_z",
    "futility_z",
    "alpha_spent",
    "nominal_p",
)
CURVE_TEXT = ("contrast",)
CURVE_NUMBERS = ("n_per_arm", "power", "power_ci_low", "power_ci_high")


def read_json(path: Path, model: type[BaseModel]) -> dict[str, Any]:
    """A JSON file checked against ``model``.

    Returns:
        The file's object (every key, as given).

    Raises:
        MssimError: Naming the file and the field, for unreadable JSON, a
            value of the wrong type or out of range, or an unknown field.
    """
    try:
        data = json.loads(Path(path).read_bytes())
    except ValueError as err:  # also bad UTF-8
        raise MssimError(f"{path}: not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise MssimError(f"{path}: expected a JSON object; given {type(data).__name__}")
    try:
        model.model_validate(data)
    except ValidationError as err:
        problems = [_describe(e) for e in err.errors()]
        raise MssimError(f"{path}: " + "; ".join(problems)) from None
    return data


def _describe(error: Any) -> str:
    """One pydantic error as ``field: what is allowed; given value``."""
    field = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "missing":
        return f"{field}: required field is missing"
    if error["type"] == "extra_forbidden":
        return f"{field}: unknown field"
    given = error.get("input")
    shown = json.dumps(given) if isinstance(given, str | int | float | bool | None) else "a table"
    return f"{field}: {error['msg']}; given {shown}"


def read_table(
    path: Path,
    text: tuple[str, ...] = (),
    numbers: tuple[str, ...] = (),
    breakdown: bool = False,
) -> pd.DataFrame:
    """A CSV table with the columns the report reads.

    Args:
        path: The CSV file.
        text: Columns that must be present (read as text).
        numbers: Columns that must be present and hold numbers (or gaps);
            those in :data:`COUNTS` must hold whole numbers >= 0 with no gaps.
        breakdown: A results table: if it has ``breakdown_true_effect``, the
            columns of :data:`BREAKDOWN_NUMBERS` must be there, holding numbers.

    Raises:
        MssimError: Naming the file and column (and row), for an unreadable
            or empty table, a missing column, or text where numbers belong.
    """
    try:
        frame = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError) as err:  # pandas' parser errors are ValueErrors
        raise MssimError(f"{path}: not a readable CSV table: {err}") from None
    if frame.empty:
        raise MssimError(f"{path}: the table has no rows")
    if breakdown and "breakdown_true_effect" in frame.columns:
        numbers = (*numbers, *BREAKDOWN_NUMBERS)
    missing = [c for c in (*text, *numbers) if c not in frame.columns]
    if missing:
        raise MssimError(f"{path}: missing column(s) {', '.join(missing)}")
    for column in text:
        frame[column] = frame[column].astype(str)
    for column in numbers:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna()
        if column in COUNTS:
            bad |= values.isna() | (values < 0) | (values != values.round())
        if bad.any():
            row = int(bad.to_numpy().argmax())
            raise MssimError(
                f"{path}: column {column}, row {row + 1}: expected "
                f"{'a whole number >= 0' if column in COUNTS else 'a number'}; "
                f"given {frame[column].iloc[row]!r}"
            )
        frame[column] = values.astype(int) if column in COUNTS else values.astype(float)
    return frame
