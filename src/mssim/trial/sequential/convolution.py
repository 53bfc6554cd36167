"""The recursion's costly step, compiled: the next look's sub-density from the last one's.

``density[b, i] = sum_j phi((z[b, i] - mean[b, j]) / sd[b]) g[b, j] / sd[b]``: for every
design b, the normal transition from each of the last look's nodes j to each new
node i, weighted by the sub-density carried so far. numpy would build three
(B, nodes, nodes) temporaries; this loop builds none. It computes every term
with the same operations in the same order as the numpy expression
``(phi((z[:, :, None] - mean[:, None, :]) / sd[:, :, None]) * g[:, None, :]).sum(2) / sd``
(numpy's pairwise sum included; a term whose exponential underflows is the 0 it
would be, without the call), so the boundaries keep their bits;
``tests/test_sequential_boundaries.py`` checks it against that expression.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_ROOT_TWO_PI = math.sqrt(2 * math.pi)
_UNDERFLOW = 1500.0  # x * x beyond which exp(-x * x / 2) is 0 in float64 (below exp(-745.2))


@njit(inline="always")
def _pairwise(row: np.ndarray) -> float:
    """The pairwise sum numpy takes of a contiguous float64 row of at most 128 values."""
    n = row.shape[0]
    if n < 8:
        total = 0.0
        for k in range(n):
            total += row[k]
        return total
    r0, r1, r2, r3 = row[0], row[1], row[2], row[3]
    r4, r5, r6, r7 = row[4], row[5], row[6], row[7]
    i = 8
    while i < n - n % 8:
        r0 += row[i]
        r1 += row[i + 1]
        r2 += row[i + 2]
        r3 += row[i + 3]
        r4 += row[i + 4]
        r5 += row[i + 5]
        r6 += row[i + 6]
        r7 += row[i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += row[i]
        i += 1
    return total


@njit(cache=True, nogil=True)
def transition_density(
    z: np.ndarray, mean: np.ndarray, sd: np.ndarray, g: np.ndarray
) -> np.ndarray:
    """Sub-density at the new nodes, (B, nodes).

    Args:
        z: New nodes, (B, nodes).
        mean: Mean of the new look's z given each old node, (B, nodes).
        sd: SD of that transition, (B, 1).
        g: Weight x sub-density at the old nodes, (B, at most 128 nodes).

    Raises:
        ValueError: For more than 128 old nodes.
    """
    if g.shape[1] > 128:  # numpy sums longer rows in halves; not needed for NODES = 96
        raise ValueError("transition_density sums at most 128 old nodes")
    b_count, nodes = z.shape
    out = np.empty((b_count, nodes))
    terms = np.empty(g.shape[1])
    for b in range(b_count):
        s = sd[b, 0]
        for i in range(nodes):
            for j in range(g.shape[1]):
                x = (z[b, i] - mean[b, j]) / s
                # beyond ~38.6 SD exp underflows to 0: the term is 0 without calling it
                terms[j] = (
                    0.0 if x * x > _UNDERFLOW else math.exp(-0.5 * x * x) / _ROOT_TWO_PI * g[b, j]
                )
            out[b, i] = _pairwise(terms) / s
    return out
