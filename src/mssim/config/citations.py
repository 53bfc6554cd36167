"""How a default is justified: its status and its source (author year, or a reason)."""

from __future__ import annotations

from typing import NamedTuple

PUBLISHED = "published source"
CALIBRATED = "calibrated to published figures"
ASSUMPTION = "assumption"
DESIGN = "design setting"
CHANGED = "changed in this scenario"
STATUSES = (PUBLISHED, CALIBRATED, ASSUMPTION, DESIGN, CHANGED)


class Source(NamedTuple):
    """Where a default comes from.

    Attributes:
        status: One of :data:`STATUSES` (never ``changed in this scenario``).
        source: Author year and what was taken from it, or a short reason.
    """

    status: str
    source: str


def assumed(note: str = "assumption") -> Source:
    """An assumption, with what it rests on."""
    return Source(ASSUMPTION, note)


def design(note: str = "set by the trial planner") -> Source:
    """A choice the trial planner makes."""
    return Source(DESIGN, note)
