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


def random_weights(seed: int, index: int, k: int) -> np.ndarray:
    """Weights of proposal `index`: uniform on the simplex, from the run's seed."""
    w = -np.log(generator(seed, "weights", index).random(k) + 1e-300)
    return w / w.sum()


def normalized(costs: np.ndarray) -> np.ndarray:
    """Costs (n x k, finite) scaled per objective so that the front seen spans [0, 1]: 0 at
    its best value, 1 at the front's worst (costs off the front may exceed 1). Where the front
    is one point, all costs set the scale."""
    front = costs[non_dominated(costs)]
    lo = costs.min(axis=0)
    hi = front.max(axis=0)
    flat = hi <= lo
    hi = np.where(flat, costs.max(axis=0), hi)
    span = np.where(hi > lo, hi - lo, 1.0)
    return (costs - lo) / span


def chebyshev(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """max_k w_k v_k + RHO * sum_k w_k v_k over the last axis of `values` (normalized costs)."""
    weighted = values * weights
    return weighted.max(axis=-1) + RHO * weighted.sum(axis=-1)
