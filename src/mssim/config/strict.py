"""The base of every scenario table: closed, frozen, finite; and the bounded number types.

Every float is finite (``allow_inf_nan=False`` on every model) and bounded.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0, le=100.0)]  # SDs, weights, rates, points
Positive = Annotated[float, Field(gt=0.0, le=36_500.0)]  # time constants (days), SDs, shapes
Level = Annotated[float, Field(ge=-10.0, le=20.0)]  # latent NRS, clipped to 0-10 when felt
Effect = Annotated[float, Field(ge=-100.0, le=100.0)]  # SD or instrument points
Loading = Annotated[float, Field(ge=-10.0, le=10.0)]  # NRS points or SD per SD
Score = Annotated[float, Field(ge=-100.0, le=100.0)]  # instrument points (all within 0-84)
Weeks = Annotated[int, Field(ge=1, le=520)]


class Strict(BaseModel):
    """Closed, frozen parameter set: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def merge_defaults(defaults: dict[str, Any], given: Any) -> Any:
    """Lay a user's table over a defaults table (user wins); leave non-tables to pydantic."""
    if isinstance(given, BaseModel) or not isinstance(given, dict):
        return given
    return {**defaults, **given}
