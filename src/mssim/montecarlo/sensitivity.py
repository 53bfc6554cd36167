"""Which assumptions drive power: Morris screening (SALib) with common random numbers.

The factors are the scenario's numeric fields marked as assumptions
(:func:`mssim.config.sources.provenance_table`) and the effect sizes of its
arms (the specific and non-specific effect, the first assumption of any power
calculation), less the fields the scenario does not use
(:func:`mssim.config.relevance.inert_reason`). Each varies over ±50% of its
value (:data:`SPREAD`), narrowed where the scenario's validation allows less
(a probability stays at most 1), and that range is recorded with each field.

Morris's elementary effects (SALib's ``morris`` sampler and analyser) rank the
fields by ``mu_star``, the mean absolute change in power per unit range; every
point runs under the scenario's seed, so replicate r draws the same patients
and noise at every point and the elementary effects are not Monte Carlo noise.
Each field's low and high end, the others at their values (one at a time),
give the tornado figure: power if the assumption is wrong either way.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.sample import morris as morris_sample

from mssim.config.citations import ASSUMPTION, CHANGED
from mssim.config.load import with_overrides
from mssim.config.relevance import inert_reason
from mssim.config.scenario import Scenario
from mssim.config.sources import provenance_table, source_of
from mssim.errors import MssimError
from mssim.montecarlo.sample_size import primary_curve
from mssim.montecarlo.sweep import run_points

#: Default half-width of a field's range, as a share of its value.
SPREAD = 0.5
#: Arm fields screened whatever their status: the effects a power calculation assumes.
EFFECT_FIELDS = ("specific_effect", "nonspecific_effect")
#: Morris grid levels (SALib's ``num_levels``).
LEVELS = 4


@dataclass(frozen=True)
class Factor:
    """One screened field and its range.

    Attributes:
        field: Dotted path, as for ``--set``.
        value: The scenario's value.
        low: Lowest value screened.
        high: Highest value screened.
        integer: Whether the field takes whole numbers.
        status: Its status in the scenario's provenance table.
        source: Where its default comes from.
        range_note: Where the range comes from.
    """

    field: str
    value: float
    low: float
    high: float
    integer: bool
    status: str
    source: str
    range_note: str


def _numeric(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def candidate_fields(scenario: Scenario) -> list[str]:
    """The fields screened by default: assumptions and arm effects the scenario uses.

    Args:
        scenario: The scenario.

    Returns:
        Dotted paths of numeric, non-zero fields whose default is an assumption
        (also when this scenario changed them) or that are an arm's
        :data:`EFFECT_FIELDS`, and that the scenario uses, in table order.
    """
    table = provenance_table(scenario)
    fields = []
    for row in table.itertuples():
        if not _numeric(row.value) or row.value == 0:
            continue
        parts = row.field.split(".")
        effect = parts[0] == "arms" and len(parts) == 3 and parts[2] in EFFECT_FIELDS
        status = row.status
        if status == CHANGED:
            found = source_of(row.field, scenario)
            status = found.status if found else ASSUMPTION
        if (effect or status == ASSUMPTION) and inert_reason(scenario, row.field) is None:
            fields.append(row.field)
    return fields


def factor_ranges(scenario: Scenario, fields: list[str], spread: float = SPREAD) -> list[Factor]:
    """Each field's range: ``value ± spread * |value|``, narrowed to what validation allows.

    An end the scenario's validation refuses (e.g. a probability above 1) is
    moved halfway back towards the value until it is accepted (at most 20 times).

    Raises:
        MssimError: For an unknown or non-numeric field, or one whose value is 0
            (no relative range).
    """
    table = provenance_table(scenario).set_index("field")
    factors = []
    for field in fields:
        if field not in table.index:
            raise MssimError(f"--field {field}: not a field of the scenario")
        row = table.loc[field]
        value = row.value
        if not _numeric(value) or value == 0:
            raise MssimError(
                f"--field {field}: needs a non-zero number to vary ±{spread:.0%}; it is {value!r}"
            )
        reason = inert_reason(scenario, field)
        if reason:
            raise MssimError(f"--field {field}: screening it would change nothing: {reason}")
        integer = isinstance(value, numbers.Integral)
        ends, narrowed = [], False
        for sign in (-1, 1):
            end = value + sign * spread * abs(value)
            for _ in range(20):
                candidate = round(end) if integer else end
                if _valid(scenario, field, candidate):
                    break
                end, narrowed = (end + value) / 2, True
            else:
                candidate = value
            ends.append(float(candidate))
        note = f"±{spread:.0%} of the value" + (", narrowed to what the field allows" * narrowed)
        factors.append(
            Factor(field, float(value), *sorted(ends), integer, row.status, row.source, note)
        )
    return _jointly_valid(scenario, factors)


def _jointly_valid(scenario: Scenario, factors: list[Factor]) -> list[Factor]:
    """Narrow fields of one table whose ends are valid alone but not together.

    Fields of one table can be bound together (``guess_verum + guess_dont_know``
    at most 1). For every pair of screened fields in one table, each corner of
    their two ranges is checked; an end of a failing corner is moved halfway
    towards the value (at most 10 times), so every Morris point is valid.
    """
    out = {f.field: f for f in factors}
    parent = {f.field: f.field.rsplit(".", 1)[0] for f in factors}
    pairs = [
        (a, b) for i, a in enumerate(out) for b in list(out)[i + 1 :] if parent[a] == parent[b]
    ]
    for a, b in pairs:
        for _ in range(10):
            fa, fb = out[a], out[b]
            bad = [
                (ea, eb)
                for ea in ("low", "high")
                for eb in ("low", "high")
                if not _valid_all(scenario, {a: getattr(fa, ea), b: getattr(fb, eb)})
            ]
            if not bad:
                break
            ea, eb = bad[0]
            out[a], out[b] = _narrow(fa, ea), _narrow(fb, eb)
    return list(out.values())


def _narrow(factor: Factor, end: str) -> Factor:
    """The factor with one end moved halfway towards its value."""
    moved = (getattr(factor, end) + factor.value) / 2
    moved = float(round(moved)) if factor.integer else moved
    note = factor.range_note.split(", narrowed")[0] + ", narrowed so that every point is valid"
    return replace(factor, **{end: moved, "range_note": note})


def _valid(scenario: Scenario, field: str, value: float) -> bool:
    return _valid_all(scenario, {field: value})


def _valid_all(scenario: Scenario, values: dict[str, float]) -> bool:
    try:
        with_overrides(scenario, [f"{field}={value!r}" for field, value in values.items()])
    except MssimError:
        return False
    return True


def _point(factors: list[Factor], row: np.ndarray) -> dict[str, float]:
    return {
        f.field: (round(float(v)) if f.integer else float(v))
        for f, v in zip(factors, row, strict=True)
    }


@dataclass(frozen=True)
class Sensitivity:
    """Morris screening of power at one n per arm.

    Attributes:
        table: One row per field, most influential first: ``rank, field, status,
            source, value, low, high, range_note, mu_star, mu_star_conf, sigma,
            power_low, power_high`` (power with the field at its low and high end,
            the others at their values).
        points: Every point run: the fields' values, ``power`` and ``power_mcse``.
        base_power: Power of the scenario as it is.
        n_per_arm: The n per arm at which power is measured.
        replicates: Replicate trials per point.
        trajectories: Morris trajectories.
    """

    table: pd.DataFrame
    points: pd.DataFrame
    base_power: float
    n_per_arm: int
    replicates: int
    trajectories: int


def morris_screening(
    scenario: Scenario,
    fields: list[str] | None = None,
    n_per_arm: int | None = None,
    replicates: int = 200,
    trajectories: int = 10,
    spread: float = SPREAD,
    **run: Any,
) -> Sensitivity:
    """Rank fields by their effect on power with Morris screening (SALib).

    Args:
        scenario: The scenario (its seed is every point's seed).
        fields: Dotted fields to screen; default :func:`candidate_fields`.
        n_per_arm: n per arm at which power is measured; default ``trial.n_per_arm``.
        replicates: Replicate trials per point.
        trajectories: Morris trajectories (points run: ``trajectories * (fields + 1)``,
            plus two per field for the tornado and one for the scenario itself).
        spread: Half-width of each range as a share of the value.
        **run: Passed to :func:`mssim.montecarlo.sweep.run_points` (n_jobs,
            backend, out, progress).

    Returns:
        The ranking, its points and the scenario's own power.

    Raises:
        MssimError: For a bad field (see :func:`factor_ranges`) or fewer than
            two fields.
    """
    chosen = fields or candidate_fields(scenario)
    if len(chosen) < 2:
        raise MssimError(f"--field: Morris screening needs at least two fields; given {chosen}")
    factors = factor_ranges(scenario, chosen, spread)
    n = n_per_arm or scenario.trial.n_per_arm
    problem = {
        "num_vars": len(factors),
        "names": [f.field for f in factors],
        "bounds": [[f.low, f.high] for f in factors],
    }
    design = morris_sample.sample(problem, trajectories, num_levels=LEVELS, seed=scenario.seed)
    values = np.array([f.value for f in factors])
    one_at_a_time = []
    for i, f in enumerate(factors):
        for end in (f.low, f.high):
            row = values.copy()
            row[i] = end
            one_at_a_time.append(row)
    rows = np.vstack([values[None, :], np.array(one_at_a_time), design])
    points = [_point(factors, r) for r in rows]
    frame = run_points(scenario, points, replicates, [n], **run)
    curve = primary_curve(frame)
    power = curve.power.to_numpy()
    table = pd.DataFrame(rows, columns=problem["names"])
    table["power"], table["power_mcse"] = power, curve.power_mcse.to_numpy()
    ranked = morris_analyze.analyze(
        problem, design, power[1 + 2 * len(factors) :], num_levels=LEVELS, seed=scenario.seed
    )
    out = pd.DataFrame(
        {
            "field": [f.field for f in factors],
            "status": [f.status for f in factors],
            "source": [f.source for f in factors],
            "value": values,
            "low": [f.low for f in factors],
            "high": [f.high for f in factors],
            "range_note": [f.range_note for f in factors],
            "mu_star": np.asarray(ranked["mu_star"], dtype=float),
            "mu_star_conf": np.asarray(ranked["mu_star_conf"], dtype=float),
            "sigma": np.asarray(ranked["sigma"], dtype=float),
            "power_low": power[1 : 1 + 2 * len(factors) : 2],
            "power_high": power[2 : 2 + 2 * len(factors) : 2],
        }
    )
    out = out.sort_values("mu_star", ascending=False, kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return Sensitivity(out, table, float(power[0]), n, replicates, trajectories)


def wrong_sentence(row: pd.Series, base_power: float) -> str:
    """What happens to power if one assumption is wrong either way, in words."""
    low, high = sorted((row.power_low, row.power_high))
    return (
        f"{row.field} (now {row.value:g}; screened {row.low:g} to {row.high:g}): power "
        f"{low:.0%} to {high:.0%} instead of {base_power:.0%}"
    )
