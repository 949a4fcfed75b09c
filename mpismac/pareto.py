"""Pareto dominance and hypervolume of minimized costs (numpy only: the optimizer, the readers
and the benchmarks share them).

The hypervolume is exact: a sweep in two objectives, and in more the slicing of Whiley et al.
(HSO: sort by the last objective, the volume of each slab is the hypervolume of the points
above it in one objective fewer). It is meant for fronts of up to a few hundred points in
three or four objectives, which is what a run's front is.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

import numpy as np

K = TypeVar("K", bound=Hashable)


def dominates(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> bool:
    """Whether `a` is at least as good as `b` in every objective and better in one."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.all(a <= b) and np.any(a < b))


def non_dominated(costs: np.ndarray) -> np.ndarray:
    """Mask of the rows of `costs` (n x k) that no other row dominates; of equal rows the first
    is kept. Rows with a NaN are never on the front."""
    costs = np.asarray(costs, dtype=float)
    n = len(costs)
    keep = ~np.isnan(costs).any(axis=1) if n else np.zeros(0, dtype=bool)
    for i in np.flatnonzero(keep):
        if not keep[i]:
            continue
        others = costs[keep]
        beaten = np.all(others <= costs[i], axis=1) & np.any(others < costs[i], axis=1)
        if beaten.any():
            keep[i] = False
            continue
        same = np.flatnonzero(keep & np.all(costs == costs[i], axis=1))
        keep[same[same > i]] = False  # duplicates of row i
        dominated = np.all(costs[i] <= costs, axis=1) & np.any(costs[i] < costs, axis=1)
        keep &= ~dominated
    return keep


def merged_front(points: Sequence[tuple[K, Sequence[float]]]) -> list[tuple[K, tuple[float, ...]]]:
    """The Pareto front of several fronts' (key, costs) points, a key once (its last costs), in
    the order of the costs."""
    last = {key: tuple(float(c) for c in costs) for key, costs in points}
    keys = list(last)
    if not keys:
        return []
    keep = non_dominated(np.array([last[k] for k in keys]))
    return sorted(((k, last[k]) for k, kept in zip(keys, keep, strict=True) if kept), key=lambda p: p[1])


def hypervolume(points: np.ndarray | Sequence[Sequence[float]], reference: np.ndarray | Sequence[float]) -> float:
    """Volume dominated by `points` (n x k, minimized) and bounded by `reference`; points not
    strictly better than the reference in every objective add nothing."""
    pts = np.asarray(points, dtype=float).reshape(-1, len(reference))
    ref = np.asarray(reference, dtype=float)
    pts = pts[np.all(pts < ref, axis=1)]
    if not len(pts):
        return 0.0
    return _hv(pts[non_dominated(pts)], ref)


def _hv(pts: np.ndarray, ref: np.ndarray) -> float:
    k = pts.shape[1]
    if k == 1:
        return float(ref[0] - pts[:, 0].min())
    if k == 2:
        order = np.argsort(pts[:, 0], kind="stable")
        x, y = pts[order, 0], pts[order, 1]
        best_y = np.minimum.accumulate(y)
        widths = np.diff(np.append(x, ref[0]))
        return float(np.sum(widths * (ref[1] - best_y)))
    order = np.argsort(pts[:, -1], kind="stable")
    pts = pts[order]
    total = 0.0
    for i in range(len(pts)):
        top = pts[i + 1, -1] if i + 1 < len(pts) else ref[-1]
        depth = top - pts[i, -1]
        if depth <= 0:
            continue
        slab = pts[: i + 1, :-1]  # the sweep in two objectives needs no filtering; more do
        total += depth * _hv(slab if k == 3 else slab[non_dominated(slab)], ref[:-1])
    return total
