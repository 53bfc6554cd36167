"""exp, log, expm1, log1p and pow of arrays from the C library: the same bits on any x86-64 CPU.

numpy picks its float64 ``exp`` and ``log`` (and, in builds with SVML, ``expm1``,
``log1p`` and others) at run time from the CPU's vector extensions. On a CPU
with AVX-512 they can differ from the C library in the last bit: the
expectation modifiers of one patient, say, then differ between two machines,
and so would the golden baselines. The simulation's inputs are therefore
computed here, through numba, whose ``math`` calls the C library as the
kernel's own ``math.exp`` and ``math.log`` do.

Each function takes floats or arrays of floats (broadcast) and returns float64,
element by element.
"""

from __future__ import annotations

import math

from numba import vectorize


@vectorize(["float64(float64)"], cache=True)
def exp(x: float) -> float:
    """The exponential function, element by element."""
    return math.exp(x)


@vectorize(["float64(float64)"], cache=True)
def log(x: float) -> float:
    """Natural logarithm, element by element (``-inf`` at 0, NaN below)."""
    return math.log(x)


@vectorize(["float64(float64)"], cache=True)
def expm1(x: float) -> float:
    """``exp(x) - 1`` without cancellation near 0, element by element."""
    return math.expm1(x)


@vectorize(["float64(float64)"], cache=True)
def log1p(x: float) -> float:
    """``log(1 + x)`` without cancellation near 0, element by element (``-inf`` at -1)."""
    return math.log1p(x)


@vectorize(["float64(float64, float64)"], cache=True)
def power(x: float, y: float) -> float:
    """``x`` to the power ``y``, element by element."""
    return math.pow(x, y)
