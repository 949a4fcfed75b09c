"""The surrogate of facade `hpo`: extremely randomized trees (scikit-learn), mean and spread
over the trees."""

from __future__ import annotations

import numpy as np
import sklearn
from sklearn.tree import ExtraTreeRegressor

N_TREES = 30


class Forest:
    """Predictive mean and variance of a cost (already transformed) from N_TREES extremely
    randomized trees (scikit-learn's `ExtraTreeRegressor`: a random threshold per feature, the
    best of those per split, leaves of at least `min_leaf` samples), each on all the data (no
    bootstrap): their mean is smoother than a random forest's, and their spread is zero on the
    data and grows with the distance to it.

    The trees are fitted one by one rather than through `ExtraTreesRegressor`: with ~100
    points the ensemble's per-tree bookkeeping (cloning, parameter checks) costs more than the
    fits themselves."""

    def __init__(self, min_leaf: int = 1):
        """`min_leaf`: samples per leaf at least (more for noisy per-run data)."""
        self._trees: list = []
        self.min_leaf = min_leaf

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int) -> None:
        rng = np.random.default_rng(seed)
        x = np.ascontiguousarray(x, dtype=np.float32)
        y = np.ascontiguousarray(y, dtype=np.float64).reshape(-1, 1)
        trees = []
        state = np.random.RandomState(int(rng.integers(2**31 - 1)))  # one stream for all trees: cheap
        with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
            for _ in range(N_TREES):
                tree = ExtraTreeRegressor(min_samples_leaf=self.min_leaf, max_features=1.0, random_state=state)
                tree.fit(x, y, check_input=False)
                trees.append(tree)
        self._trees = trees

    @property
    def fitted(self) -> bool:
        return bool(self._trees)

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance over trees, one prediction call per tree on the whole batch."""
        per_tree = self.per_tree(x)
        return per_tree.mean(axis=0), per_tree.var(axis=0)

    def per_tree(self, x: np.ndarray) -> np.ndarray:
        """Each tree's prediction (trees x rows)."""
        assert self._trees
        x = np.ascontiguousarray(x, dtype=np.float32)
        return np.stack([t.tree_.predict(x)[:, 0] for t in self._trees])
