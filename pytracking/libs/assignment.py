"""The one assignment helper of the MOT trackers, on ``scipy.optimize.linear_sum_assignment``."""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import linear_sum_assignment


def _empty_pairs() -> np.ndarray:
    return np.zeros((0, 2), dtype=np.int64)


def min_cost_assignment(cost: np.ndarray) -> np.ndarray:
    """A minimum-cost assignment of ``min(rows, cols)`` pairs of a rectangular cost matrix, with no
    threshold: (K, 2) ``[row, col]`` pairs in row order."""
    cost = np.asarray(cost, dtype=np.float64)
    if cost.size == 0:
        return _empty_pairs()
    rows, cols = linear_sum_assignment(cost)
    return np.stack([rows, cols], axis=1).astype(np.int64)


def _evident_answer(rows: np.ndarray, cols: np.ndarray, costs: np.ndarray, shape: tuple[int, int],
                    cost_limit: float) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """:func:`thresholded_assignment`'s answer from the entries ``(rows[p], cols[p])`` of a
    ``shape`` cost matrix that are within the limit (``costs``, all of them, each once) when it
    is evident (see :func:`evident_pairs`), else None: (pairs in row order, unmatched rows,
    unmatched columns)."""
    if np.count_nonzero(costs == cost_limit):  # a pair at the limit gains nothing: the solver's call
        return None
    per_row = np.bincount(rows, minlength=shape[0])
    per_col = np.bincount(cols, minlength=shape[1])
    if np.maximum.reduce(per_row, initial=0) > 1 or np.maximum.reduce(per_col, initial=0) > 1:
        return None
    order = rows.argsort()  # rows distinct: the one ascending order
    pairs = np.empty((len(order), 2), dtype=np.int64)
    pairs[:, 0] = rows[order]
    pairs[:, 1] = cols[order]
    return pairs, np.flatnonzero(per_row == 0), np.flatnonzero(per_col == 0)


def _evident_answer_of_matrix(cost: np.ndarray, cost_limit: float) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    within = np.flatnonzero(cost <= cost_limit)
    rows, cols = np.divmod(within, cost.shape[1])
    return _evident_answer(rows, cols, cost.reshape(-1)[within], cost.shape, cost_limit)


def evident_pairs(cost: np.ndarray, cost_limit: float) -> np.ndarray | None:
    """The pairs of :func:`thresholded_assignment` when its answer is evident, else None: when
    every row and every column has at most one cost within the limit, and each of those is
    strictly below it, the best assignment holds exactly those pairs (a solution without one of
    them can take it instead of its own pairs of that row and column, which gain nothing, for a
    strictly lower cost, so every best solution holds them all and nothing else within the
    limit); a pair at the limit exactly (which gains nothing) or competing pairs need the solver.
    (K, 2) ``[row, col]`` pairs in row order."""
    found = _evident_answer_of_matrix(np.asarray(cost, dtype=np.float64), cost_limit)
    return None if found is None else found[0]


def thresholded_assignment(cost: np.ndarray, cost_limit: float, *, evident_shortcut: bool = True
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Assignment where leaving a row or a column unmatched costs ``cost_limit / 2``: the
    semantics of ``lap.lapjv(cost, extend_cost=True, cost_limit=...)`` that ByteTrack uses. Only
    pairs with ``cost <= cost_limit`` can match (a pair exactly at the limit gains nothing over
    leaving both unmatched; lapjv matches an isolated one, and so does this), and the matching
    maximises ``sum(cost_limit - cost)`` over the matched pairs.

    Returns the (K, 2) ``[row, col]`` pairs in row order, and the unmatched rows and columns in
    ascending order. With ``evident_shortcut``, an evident answer (:func:`evident_pairs`: most
    frames of a tracker, where objects are far apart) is taken without the solver; it is the
    solver's answer."""
    cost = np.asarray(cost, dtype=np.float64)
    rows, cols = cost.shape
    if cost.size == 0:
        return _empty_pairs(), np.arange(rows), np.arange(cols)
    if evident_shortcut:
        found = _evident_answer_of_matrix(cost, cost_limit)
        if found is not None:
            return found
    allowed = cost <= cost_limit
    # Gains as negative costs; a forbidden pair costs what leaving both unmatched costs (0
    # relative), so the solver never prefers one over a real match, and it is dropped below.
    pairs = min_cost_assignment(np.where(allowed, cost - cost_limit, 0.0))
    pairs = pairs[allowed[pairs[:, 0], pairs[:, 1]]]
    return pairs, _unmatched(rows, pairs[:, 0]), _unmatched(cols, pairs[:, 1])


def thresholded_assignment_of_pairs(rows: np.ndarray, cols: np.ndarray, costs: np.ndarray, shape: tuple[int, int],
                                    cost_limit: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`thresholded_assignment` of the (rows, cols) cost matrix that holds ``costs`` at the
    pairs ``(rows[p], cols[p])`` (each pair once) and infinity elsewhere, without making the
    matrix when the answer is evident (:func:`evident_pairs`' test on the same finite costs: the
    matrix's infinities are above any finite limit); otherwise the matrix is made and solved.
    The same pairs and unmatched rows and columns as on the whole matrix (tested)."""
    if math.isfinite(cost_limit):  # the matrix's infinities are then not within the limit
        within = costs <= cost_limit
        found = _evident_answer(rows[within], cols[within], costs[within], shape, cost_limit)
        if found is not None:
            return found
    cost = np.full(shape, np.inf)
    cost[rows, cols] = costs
    return thresholded_assignment(cost, cost_limit, evident_shortcut=False)


def _unmatched(count: int, matched: np.ndarray) -> np.ndarray:
    """The indices below ``count`` not in ``matched``, ascending (a mask: cheaper than setdiff1d)."""
    free = np.ones(count, dtype=bool)
    free[matched] = False
    return np.flatnonzero(free)
