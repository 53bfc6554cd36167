"""Multiplicity: adjusted p-values and rejections of a pre-specified family of hypotheses.

The family is every (endpoint, contrast) pair, in the pre-specified order: the primary
endpoint first (its contrasts in order), then the secondary endpoints. Each strategy
gives adjusted p-values; a hypothesis is rejected when its adjusted p-value is at most
the familywise alpha, which is the strategy's own rejection rule.

Strategies (``trial.multiplicity``):

* ``fixed_sequence`` (default): the primary hypothesis at full alpha; each later
  hypothesis is tested at full alpha only if every earlier one was rejected
  (hierarchical gatekeeping; Maurer, Hothorn and Lehmacher 1995). Adjusted p-value:
  the running maximum of the p-values.
* ``holm``: step-down Holm (1979), R ``p.adjust(p, "holm")``.
* ``hochberg``: step-up Hochberg (1988), R ``p.adjust(p, "hochberg")``; valid under
  independence or positive dependence of the tests.
* ``bonferroni``: every hypothesis at alpha / K, R ``p.adjust(p, "bonferroni")``.
* ``graphical``: the Bonferroni-based graphical procedure of Bretz, Maurer, Brannath
  and Posch (2009, Stat Med 28:586-604) with the initial weights and transition
  matrix of ``trial.multiplicity_graph``; adjusted p-values by their sequentially
  rejective algorithm (as R gMCP ``gMCP(graph, p)@adjPValues``).
* ``none``: every hypothesis at alpha.
"""

from __future__ import annotations

from typing import Any

import numpy as np

STRATEGIES = ("fixed_sequence", "holm", "hochberg", "bonferroni", "graphical", "none")


def _prepare(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The p-values as (R, K) float64 and their NaN mask; NaN enters as 1."""
    p = np.atleast_2d(np.asarray(p, dtype=np.float64))
    missing = np.isnan(p)
    return np.where(missing, 1.0, p), missing


def graph_adjusted(p: np.ndarray, weights: np.ndarray, transitions: np.ndarray) -> np.ndarray:
    """Adjusted p-values of the Bonferroni-based graphical procedure (Bretz et al. 2009).

    At each step the hypothesis with the smallest ``p_j / w_j`` among those not yet
    rejected is rejected; its adjusted p-value is the largest such ratio met so far
    (capped at 1). Its weight then moves along the graph (``w_k += w_j g_jk``) and the
    transitions are updated (``g_kl = (g_kl + g_kj g_jl) / (1 - g_kj g_jk)``).

    Args:
        p: p-values in [0, 1], shape (R, K).
        weights: Initial weights, shape (K,), non-negative with sum at most 1.
        transitions: Transition matrix, shape (K, K), zero diagonal, non-negative,
            rows summing to at most 1.

    Returns:
        Adjusted p-values, shape (R, K).
    """
    n_rows, k = p.shape
    w = np.broadcast_to(np.asarray(weights, np.float64), (n_rows, k)).copy()
    g = np.broadcast_to(np.asarray(transitions, np.float64), (n_rows, k, k)).copy()
    active = np.ones((n_rows, k), bool)
    adjusted = np.ones((n_rows, k))
    running = np.zeros(n_rows)
    rows = np.arange(n_rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(k):
            ratio = np.where(active & (w > 0), p / w, np.inf)
            j = np.argmin(ratio, axis=1)
            smallest = ratio[rows, j]
            running = np.maximum(running, smallest)
            adjusted[rows, j] = np.minimum(running, 1.0)
            active[rows, j] = False
            # move the weight of H_j and update the graph among the remaining hypotheses
            w_j = w[rows, j]
            g_j = g[rows, j, :]  # out of j, (R, K)
            g_to_j = g[rows, :, j]  # into j, (R, K)
            w = np.where(active, w + w_j[:, None] * g_j, 0.0)
            denominator = 1 - g_to_j * g_j  # 1 - g_kj g_jk, per k
            updated = (g + g_to_j[:, :, None] * g_j[:, None, :]) / denominator[:, :, None]
            updated = np.where(denominator[:, :, None] > 0, updated, 0.0)
            keep = active[:, :, None] & active[:, None, :]
            keep &= ~np.eye(k, dtype=bool)[None]
            g = np.where(keep, updated, 0.0)
    return adjusted


def adjusted_pvalues(
    p: np.ndarray,
    method: str,
    graph: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Adjusted p-values of K pre-specified hypotheses in each replicate.

    Args:
        p: Two-sided p-values, shape (R, K) (or (K,)), columns in the pre-specified
            order (primary first). NaN (a degenerate analysis) is never rejected and
            gets a NaN adjusted p-value; it still counts towards K.
        method: One of :data:`STRATEGIES`.
        graph: ``(weights, transitions)`` for ``graphical`` (see :func:`graph_adjusted`).

    Returns:
        Adjusted p-values in [0, 1], shape (R, K): reject where at most alpha.
        Bonferroni, Holm and Hochberg equal R ``p.adjust``.

    Raises:
        ValueError: For an unknown method or a missing or ill-shaped graph.
    """
    p, missing = _prepare(p)
    k = p.shape[1]
    if method == "none":
        adjusted = p
    elif method == "bonferroni":
        adjusted = np.minimum(k * p, 1.0)
    elif method == "fixed_sequence":
        adjusted = np.maximum.accumulate(p, axis=1)
    elif method in ("holm", "hochberg"):
        order = np.argsort(p, axis=1, kind="stable")
        ordered = np.take_along_axis(p, order, axis=1) * np.arange(k, 0, -1)
        if method == "holm":
            ordered = np.maximum.accumulate(ordered, axis=1)
        else:
            ordered = np.minimum.accumulate(ordered[:, ::-1], axis=1)[:, ::-1]
        adjusted = np.empty_like(p)
        np.put_along_axis(adjusted, order, np.minimum(ordered, 1.0), axis=1)
    elif method == "graphical":
        if graph is None:
            raise ValueError("the graphical strategy needs (weights, transitions)")
        weights, transitions = (np.asarray(a, np.float64) for a in graph)
        if weights.shape != (k,) or transitions.shape != (k, k):
            raise ValueError(
                f"the graph has {weights.shape[0]} weights and a {transitions.shape} "
                f"transition matrix, but the family has {k} hypotheses"
            )
        adjusted = graph_adjusted(p, weights, transitions)
    else:
        raise ValueError(f"unknown method {method!r}; use one of {', '.join(STRATEGIES)}")
    return np.where(missing, np.nan, adjusted)


def adjust_pvalues(
    p: np.ndarray,
    method: str,
    alpha: float = 0.05,
    graph: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Decide which of K pre-specified hypotheses to reject in each replicate.

    Args:
        p: p-values, shape (R, K), columns in the pre-specified order (primary first).
            NaN counts as a non-rejection.
        method: One of :data:`STRATEGIES` (see :func:`adjusted_pvalues`).
        alpha: Familywise two-sided significance level.
        graph: ``(weights, transitions)`` for ``graphical``.

    Returns:
        Boolean reject array, shape (R, K): adjusted p-value at most alpha.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    with np.errstate(invalid="ignore"):
        return adjusted_pvalues(p, method, graph) <= alpha


def scenario_graph(scenario: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """(weights, transitions) of a scenario's ``trial.multiplicity_graph``, or None.

    Args:
        scenario: A :class:`mssim.config.scenario.Scenario`.
    """
    graph = scenario.trial.multiplicity_graph
    if graph is None:
        return None
    return np.array(graph.weights, np.float64), np.array(graph.transitions, np.float64)


def family_adjusted(scenario: Any, p: np.ndarray) -> np.ndarray:
    """Adjusted p-values of a scenario's family with its ``trial.multiplicity`` strategy.

    Args:
        scenario: A :class:`mssim.config.scenario.Scenario`.
        p: p-values, shape (R, K), K = endpoints x contrasts in the family's order.

    Returns:
        Adjusted p-values, shape (R, K).
    """
    return adjusted_pvalues(p, scenario.trial.multiplicity, scenario_graph(scenario))
