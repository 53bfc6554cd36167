"""Load a scenario: TOML file, then ``--set`` overrides, then validation.

Stages (each can fail with an :class:`~mssim.errors.MssimError` that names the
file and the dotted field): parse TOML, apply overrides, check fields, check
across fields, freeze. The defaults of the config tables (and those an
instrument or intervention kind brings) fill whatever the file leaves out.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import re
import tomllib
import types
import typing
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from mssim.config.scenario import Scenario
from mssim.errors import MssimError
from mssim.registry import ANALYSES, DESIGNS, ENDPOINTS, INSTRUMENTS, INTERVENTIONS

EMBEDDED = "<embedded default>"
#: Old keys that still work for one release: old dotted key -> new dotted key.
DEPRECATED_KEYS = {"trial.interim_weeks": "trial.extra_visit_weeks"}
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$")
_BARE_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def load_scenario(path: str | Path | None = None, overrides: Iterable[str] = ()) -> Scenario:
    """Read, override and validate a scenario.

    Args:
        path: A TOML scenario file, or None for the embedded default scenario.
        overrides: ``dotted.key=VALUE`` strings; VALUE is a TOML value (a bare
            word is taken as a string, since shells strip quotes).

    Returns:
        The frozen, validated scenario.

    Raises:
        MssimError: For a missing file, bad TOML, a malformed override, or an
            invalid or inconsistent field.
    """
    source = EMBEDDED if path is None else str(path)
    raw = {} if path is None else read_toml(Path(path))
    for text in overrides:
        apply_override(raw, text, source)
    return validate(raw, source)


def with_overrides(
    scenario: Scenario,
    overrides: Iterable[str] = (),
    source: str | None = None,
    values: Mapping[str, Any] | None = None,
) -> Scenario:
    """A validated copy of a scenario with overrides.

    Args:
        scenario: The scenario.
        overrides: ``dotted.key=VALUE`` strings, as for ``--set``.
        source: What to call the scenario in messages (default: its name).
        values: ``{"dotted.key": python value}`` applied first; a table
            value replaces the whole table (e.g. ``{"arms": {...}}``).

    Numbers put on numeric fields the scenario has (a prior's draw, a sweep's
    value) revalidate only the tables on each field's path, holding the others'
    validated instances, and then the checks across fields
    (:func:`with_numbers`). Anything else, and anything that shortcut refuses,
    is validated from a dump of the whole scenario, so a refusal names the
    field exactly as ``--set`` does.

    Returns:
        The new scenario.

    Raises:
        MssimError: Naming the field, for an unknown field or an invalid value.
    """
    if values and not overrides:
        numbers = with_numbers(scenario, values)
        if numbers is not None:
            return numbers
    raw = scenario.model_dump(mode="python")
    label = source or f"scenario {scenario.name!r}"
    for dotted, value in (values or {}).items():
        _set(raw, dotted.split("."), value, label)
    for text in overrides:
        apply_override(raw, text, label)
    return validate(raw, label)


def with_numbers(scenario: Scenario, values: Mapping[str, Any]) -> Scenario | None:
    """The scenario with numbers on existing numeric fields, validating only their paths.

    Each table on a field's path is validated again from its own fields (its
    field and model validators run), the tables beside it keep their validated
    instances (pydantic does not revalidate them), and the scenario's checks
    across fields run as for a whole scenario. The tables beside the path were
    valid and no validator of one table reads another, so this accepts exactly
    what validating the whole dump accepts (``tests/test_with_numbers.py``
    checks it field by field on the shipped scenarios).

    Args:
        scenario: The scenario.
        values: ``{"dotted.key": number}``.

    Returns:
        The new scenario, or None where a key is not a numeric field of the
        scenario, a value is not a number, or validation refuses it (then
        :func:`with_overrides` validates the whole dump, for the message).
    """
    result: BaseModel = scenario
    for dotted, value in values.items():
        if not _is_number(value):
            return None
        replaced = _number_in(result, dotted.split("."), value)
        if replaced is None:
            return None
        result = replaced
    return result  # type: ignore[return-value]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number_in(node: Any, path: list[str], value: float) -> Any:
    """``node`` (a table, or a dict of tables or numbers) with ``value`` at ``path``; or None."""
    head, rest = path[0], path[1:]
    if isinstance(node, BaseModel):
        if head not in type(node).model_fields:
            return None
        child = getattr(node, head)
    elif isinstance(node, dict) and head in node:
        child = node[head]
    else:
        return None
    if rest:
        new = _number_in(child, rest, value)
        if new is None:
            return None
    elif _is_number(child):
        new = value
    else:
        return None
    if isinstance(node, dict):
        return {**node, head: new}
    fields = {name: getattr(node, name) for name in type(node).model_fields}
    try:
        return type(node).model_validate({**fields, head: new})
    except ValidationError:
        return None


def with_options(
    scenario: Scenario,
    seed: int | None = None,
    target: float | None = None,
    replicates: int | None = None,
    chunk_size: int | None = None,
) -> Scenario:
    """Command-line options checked by the scenario's own validation.

    ``--seed``, ``--target``, ``--replicates`` and ``--chunk-size`` obey the
    same ranges as ``seed``, ``power.target``, ``power.replicates`` and
    ``power.chunk_size`` in a scenario file. The seed and the target become
    part of the returned scenario; replicates and chunk size are run settings
    and are only checked.

    Returns:
        The scenario with ``seed`` and ``power.target`` applied.

    Raises:
        MssimError: Naming the option and the field, for a value out of range.
    """
    options = {
        "--seed": ("seed", seed),
        "--target": ("power.target", target),
        "--replicates": ("power.replicates", replicates),
        "--chunk-size": ("power.chunk_size", chunk_size),
    }
    result = scenario
    for flag, (field, value) in options.items():
        if value is None:
            continue
        checked = with_overrides(result, values={field: value}, source=flag)
        if field in ("seed", "power.target"):
            result = checked
    return result


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning every failure into a user-facing message."""
    if not path.is_file():
        raise MssimError(f"{path}: no such scenario file")
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as err:
        raise MssimError(f"{path}: TOML syntax error: {err}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise MssimError(f"{path}: cannot read the file: {err}") from None


def parse_override(text: str, source: str) -> tuple[list[str], Any]:
    """Split ``dotted.key=VALUE`` into the key path and the parsed TOML value."""
    key, sep, value = text.partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not _KEY.match(key) or not value:
        raise MssimError(
            f"{source}: --set {text!r}: malformed override; allowed: dotted.key=VALUE "
            "with VALUE a TOML value, e.g. trial.n_per_arm=40 or power.n_per_arm=[20,40]"
        )
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        if not _BARE_WORD.match(value):
            raise MssimError(
                f"{source}: --set {key}: {value!r} is not a TOML value; allowed: a number, "
                'true/false, "text", [a, list] or {an = "inline table"}'
            ) from None
        parsed = value
    return key.split("."), parsed


def apply_override(raw: dict[str, Any], text: str, source: str) -> None:
    """Apply one ``--set`` override to the raw scenario table, in place.

    Overriding one entry of a table merges with the table's defaults: for
    example ``arms.acupuncture.targets.fatigue=0.5`` keeps the default pain
    and sleep targets, and ``relapses.annual_rate.rrms=0.5`` keeps the other
    MS types' rates.
    """
    path, value = parse_override(text, source)
    if path[0] == "arms" and "arms" not in raw:
        # Overriding one arm must not drop the default arms.
        raw["arms"] = {name: {"intervention": arm.intervention} for name, arm in _default_arms()}
    _set(raw, path, value, source, merge_defaults=True)


def _set(
    raw: dict[str, Any], path: list[str], value: Any, source: str, merge_defaults: bool = False
) -> None:
    """Put ``value`` at a key path in a raw scenario table, creating tables on the way.

    With ``merge_defaults``, a table of values that is created on the way
    starts as a copy of its default (see :func:`_table_default`).
    """
    table = raw
    for depth, part in enumerate(path[:-1]):
        if part not in table and merge_defaults:
            default = _table_default(path[: depth + 1])
            if default is not None:
                table[part] = copy.deepcopy(default)
        table = table.setdefault(part, {})
        if not isinstance(table, dict):
            dotted = ".".join(path[: depth + 1])
            raise MssimError(
                f"{source}: --set {'.'.join(path)}: {dotted} is a value, not a table; "
                f"given {table!r}"
            )
    table[path[-1]] = value


def _table_default(path: list[str]) -> dict[str, Any] | None:
    """The default of a table of plain values at ``path`` (e.g. ``relapses.annual_rate``).

    Only tables whose values are numbers or tables of numbers have one (targets,
    rates, loadings, allocation); tables of models (arms, symptoms) fill their
    own defaults when validated. None where there is no such default.
    """
    annotation: Any = Scenario
    depth = 0
    while depth < len(path):
        model = _model_in(annotation)
        if model is None or path[depth] not in model.model_fields:
            return None
        info = model.model_fields[path[depth]]
        values = typing.get_args(info.annotation)[1] if _is_dict(info.annotation) else None
        if depth == len(path) - 1:
            if values is None or _model_in(values) is not None:
                return None
            default = info.get_default(call_default_factory=True)
            return default if isinstance(default, dict) else None
        # a table of models (e.g. arms): step over the key into the model
        annotation, depth = (
            (values, depth + 2) if values is not None else (info.annotation, depth + 1)
        )
    return None


def _is_dict(annotation: Any) -> bool:
    return typing.get_origin(annotation) is dict


def _default_arms() -> Iterable[tuple[str, Any]]:
    return Scenario.model_fields["arms"].default_factory().items()


def validate(raw: Mapping[str, Any], source: str) -> Scenario:
    """Validate a raw scenario table into a frozen :class:`Scenario`."""
    raw = _renamed(raw, source)
    try:
        return Scenario.model_validate(dict(raw))
    except ValidationError as err:
        lines = [_describe(e) for e in err.errors()]
        head = f"{source}: " if len(lines) == 1 else f"{source}: {len(lines)} problems:\n  "
        raise MssimError(head + "\n  ".join(lines)) from None


def _renamed(raw: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Move deprecated keys to their new names, with a warning that names the new key."""
    raw = dict(raw)
    for old, new in DEPRECATED_KEYS.items():
        (table, key), (new_table, new_key) = old.split("."), new.split(".")
        given = raw.get(table)
        if not isinstance(given, dict) or key not in given:
            continue
        if new_key in given:
            raise MssimError(f"{source}: {old}: deprecated name of {new}; give only {new}")
        warnings.warn(
            f"{source}: {old} is deprecated and will be removed; use {new}",
            FutureWarning,
            stacklevel=3,
        )
        moved = {k: v for k, v in given.items() if k != key}
        raw[table] = {**moved, new_key: given[key]} if table == new_table else moved
    return raw


def _describe(error: Mapping[str, Any]) -> str:
    """One line for one pydantic error: dotted field, what is allowed, what was given."""
    loc = [str(part) for part in error["loc"]]
    message = str(error["msg"]).removeprefix("Value error, ")
    if message.startswith("@"):  # cross-field check: it names its field, under its table
        field, _, message = message[1:].partition(": ")
        return f"{'.'.join([*loc, field])}: {message}"
    dotted = ".".join(loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        valid = _valid_keys(error["loc"][:-1])
        guess = difflib.get_close_matches(loc[-1], valid, n=1, cutoff=0.5)
        hint = f"did you mean {guess[0]!r}? " if guess else ""
        return f"{dotted}: unknown key; {hint}valid keys: {', '.join(valid)}"
    if error["type"] == "missing":
        return f"{dotted}: required field is missing"
    given = error.get("input")
    if isinstance(given, dict) and error["type"] == "value_error":
        return f"{dotted}: {message}"  # a whole table failed a check: its message says why
    if isinstance(given, dict):
        shown = "a table"
    elif isinstance(given, str | int | float | bool | list):
        shown = json.dumps(given)
    else:
        shown = repr(given)
    return f"{dotted}: {message}; given {shown}"


def _valid_keys(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model that sits at ``loc`` inside a Scenario."""
    annotation: Any = Scenario
    for part in loc:
        model = _model_in(annotation)
        if model is not None and part in model.model_fields:
            annotation = model.model_fields[part].annotation
        elif typing.get_origin(annotation) is dict:
            annotation = typing.get_args(annotation)[1]
        else:
            return []
    model = _model_in(annotation)
    return sorted(model.model_fields) if model is not None else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel class in an annotation such as ``Drug | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def to_toml(scenario: Scenario) -> str:
    """The resolved scenario as TOML that loads back to the same scenario."""
    return _toml_tables(scenario.model_dump(mode="python"), prefix="")


def _toml_tables(table: Mapping[str, Any], prefix: str) -> str:
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict) and v is not None}
    tables = {k: v for k, v in table.items() if isinstance(v, dict)}
    out = []
    if prefix and (scalars or not tables):
        out.append(f"[{prefix}]")
    out += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in scalars.items()]
    if out:
        out.append("")
    for key, sub in tables.items():
        out.append(_toml_tables(sub, f"{prefix}.{_toml_key(key)}" if prefix else _toml_key(key)))
    return "\n".join(out)


def _toml_key(key: str) -> str:
    return key if _BARE_WORD.match(key) else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


#: (model in the schema, field) -> the registry whose names the field takes.
REGISTERED_FIELDS = {
    ("Symptom", "instrument"): INSTRUMENTS,
    ("Arm", "intervention"): INTERVENTIONS,
    ("Trial", "design"): DESIGNS,
    ("Trial", "endpoint"): ENDPOINTS,
    ("Trial", "analysis"): ANALYSES,
}


def json_schema() -> dict[str, Any]:
    """JSON Schema of scenario files, for editors.

    Fields that take a registered name list the names registered now (built-in
    and from loaded plug-ins) as an enum.
    """
    schema = Scenario.model_json_schema()
    schema["title"] = "mssim scenario"
    for (model, field), registry in REGISTERED_FIELDS.items():
        schema["$defs"][model]["properties"][field]["enum"] = registry.names()
    return schema
