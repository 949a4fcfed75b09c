"""Several objectives as one, per proposal: random weights and the augmented Chebyshev
scalarization of ParEGO (Knowles, 2006), on objectives normalized from the data seen.

Each proposal draws its own weights, so proposals made at once (a batch for idle workers)
aim at different parts of the front. The minimum of an augmented Chebyshev scalarization is
Pareto optimal for any positive weights, and every point of the front (convex or not) is the
minimum for some weights, which a weighted mean cannot say.
"""

from __future__ import annotations

import numpy as np

from ..pareto import non_dominated
from .streams import generator

RHO = 0.05  # weight of the sum added to the max (ParEGO's): breaks ties towards dominance
UTOPIA = 0.25  # the scalarization's origin lies this far (front spans) below the best value seen


def random_weights(seed: int, index: int, k: int) -> np.ndarray:
    """Weights of proposal `index`: uniform on the simplex, from the run's seed."""
    w = -np.log(generator(seed, "weights", index).random(k) + 1e-300)
    return w / w.sum()


def normalized(costs: np.ndarray) -> np.ndarray:
    """Costs (n x k, finite) scaled per objective so that the front seen spans [UTOPIA,
    1 + UTOPIA]: UTOPIA at its best value, 1 + UTOPIA at the front's worst (costs off the
    front may exceed it). Where the front is one point, all costs set the scale.

    The origin below the best values is what makes the front grow at its ends: measured from
    the best value itself, a point beyond the front's end is never better than the end for
    any weights but the most lopsided (a few percent of them); from UTOPIA below, for about
    one in seven at each end. (Hypervolume at 200 trials, median of 5 seeds: ZDT1 0.745 ->
    0.827, ZDT3 0.749 -> 1.030, DTLZ2 0.558 either way; an origin 0.5 below did worse.)"""
    front = costs[non_dominated(costs)]
    lo = costs.min(axis=0)
    hi = front.max(axis=0)
    flat = hi <= lo
    hi = np.where(flat, costs.max(axis=0), hi)
    span = np.where(hi > lo, hi - lo, 1.0)
    return (costs - lo) / span + UTOPIA


def chebyshev(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """max_k w_k v_k + RHO * sum_k w_k v_k over the last axis of `values` (normalized costs)."""
    weighted = values * weights
    return weighted.max(axis=-1) + RHO * weighted.sum(axis=-1)
