"""Numbers on existing fields validate only their path, and accept exactly what ``--set`` does.

:func:`mssim.config.load.with_numbers` revalidates the tables on a field's path
and the checks across fields, keeping the other tables' validated instances.
These tests move every numeric field of every shipped scenario to values inside,
at and beyond its limits, and compare with validating the whole scenario as
``--set`` does: the same scenario where ``--set`` accepts, a refusal where it
refuses, with the same message through :func:`with_overrides`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mssim.config.load import load_scenario, with_numbers, with_overrides
from mssim.errors import MssimError

SCENARIOS = [None, *sorted(Path("scenarios").glob("*.toml"))]


def _numeric_fields(table: dict, prefix: str = "") -> list[tuple[str, int | float]]:
    out = []
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out += _numeric_fields(value, f"{name}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out.append((name, value))
    return out


def _moves(value: int | float) -> list[int | float]:
    """Values inside, at and beyond a field's limits (ints also as floats, which int fields refuse)."""
    if isinstance(value, int):
        return [value + 1, max(value - 1, 0), -1, 10**9, value + 0.5]
    return [value * 1.1 + 0.01, value * 0.9 - 0.01, 0.0, -value - 1.0, 1e9]


def _set(scenario, field: str, value: int | float):
    """The whole scenario validated from its dump, as ``--set`` does: the scenario or the message."""
    try:
        return with_overrides(scenario, [f"{field}={value!r}"], source="here")
    except MssimError as err:
        return str(err)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem if p else "embedded")
def test_with_numbers_accepts_exactly_what_set_accepts(path):
    s = load_scenario(path)
    accepted = refused = 0
    for field, value in _numeric_fields(s.model_dump(mode="python")):
        for moved in _moves(value):
            quick = with_numbers(s, {field: moved})
            whole = _set(s, field, moved)
            if isinstance(whole, str):
                assert quick is None, f"{field}={moved!r}: --set refuses ({whole})"
                with pytest.raises(MssimError) as err:
                    with_overrides(s, values={field: moved}, source="here")
                assert str(err.value) == whole
                refused += 1
            else:
                assert quick is not None, f"{field}={moved!r}: --set accepts"
                assert quick == whole, field
                assert quick.model_dump_json() == whole.model_dump_json(), field
                accepted += 1
    assert accepted >= 200 and refused >= 200  # the walk reached both sides of the limits


def test_cross_field_checks_still_run():
    s = load_scenario()
    # valid for the arm on its own (1 to 728), refused across fields: after the primary visit
    assert with_numbers(s, {"arms.acupuncture.start_day": 100}) is None
    with pytest.raises(MssimError, match=r"arms\.acupuncture\.start_day: day 100 is after"):
        with_overrides(s, values={"arms.acupuncture.start_day": 100})
    # refused by the arm's own check across its fields
    assert with_numbers(s, {"arms.sham.guess_verum": 0.9}) is None


def test_what_is_not_a_number_on_a_numeric_field_takes_the_whole_validation():
    s = load_scenario()
    assert with_numbers(s, {"arms.acupuncture.intervention": 1.0}) is None
    assert with_numbers(s, {"arms.acupuncture.drug.effect": 0.2}) is None  # no drug: no field
    assert with_numbers(s, {"arms.acupuncture.no_such_field": 0.2}) is None
    assert with_numbers(s, {"arms.acupuncture.specific_effect": True}) is None
    moved = with_numbers(s, {"relapses.annual_rate.rrms": 0.5, "dropout.rate": 0.2})
    assert moved.relapses.annual_rate["rrms"] == 0.5 and moved.dropout.rate == 0.2
