"""Types of command-line values: checked by argparse, refused with exit 2 and the rule."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from mssim.errors import MssimError


def integer_in(low: int, high: int | None, wording: str) -> Callable[[str], int]:
    """An argparse type accepting whole numbers from ``low`` to ``high`` (None: no limit).

    Args:
        low: Smallest value allowed.
        high: Largest value allowed, or None.
        wording: What is allowed, as the error message says it (e.g. "a positive integer").
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wording}; given {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {wording}; given {text!r}")
        return value

    return parse


positive = integer_in(1, None, "a positive integer")
non_negative = integer_in(0, None, "an integer >= 0")
port = integer_in(1, 65535, "a TCP port 1-65535")


def memory(text: str) -> int:
    """An amount of memory such as ``2G`` or ``500M``, in bytes."""
    from mssim.config.sizes import parse_memory

    try:
        return parse_memory(text)
    except MssimError as err:
        raise argparse.ArgumentTypeError(str(err).removeprefix("--max-memory: ")) from None
