"""The random-forest surrogate: scikit-learn trees, mean and spread over the trees."""

from __future__ import annotations

import numpy as np
import sklearn
from sklearn.tree import DecisionTreeRegressor, ExtraTreeRegressor


class Forest:
    """Predictive mean and variance of a cost (already transformed) from a forest of
    scikit-learn regression trees. `extra` (default): extremely randomized trees (a random
    threshold per candidate feature), each on all the data unless `bootstrap`: their mean is
    smoother than a random forest's and their spread grows with the distance to the data.
    Otherwise (`extra=False, bootstrap=True`) SMAC's random forest.

    The trees are fitted one by one rather than through `RandomForestRegressor`: with ~100
    points the ensemble's per-tree bookkeeping (cloning, parameter checks) costs more than the
    fits themselves."""

    def __init__(self, n_trees: int = 30, min_samples_leaf: int = 1, max_features: float = 1.0,
                 extra: bool = True, bootstrap: bool = False):
        self.n_trees, self.min_samples_leaf, self.max_features = n_trees, min_samples_leaf, max_features
        self.extra, self.bootstrap = extra, bootstrap
        self._trees: list = []

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int) -> None:
        rng = np.random.default_rng(seed)
        x = np.ascontiguousarray(x, dtype=np.float32)
        y = np.ascontiguousarray(y, dtype=np.float64).reshape(-1, 1)
        cls = ExtraTreeRegressor if self.extra else DecisionTreeRegressor
        trees = []
        state = np.random.RandomState(int(rng.integers(2**31 - 1)))  # one stream for all trees: cheap
        with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
            for _ in range(self.n_trees):
                tree = cls(min_samples_leaf=self.min_samples_leaf, max_features=self.max_features,
                           random_state=state)
                if self.bootstrap:
                    idx = rng.integers(len(x), size=len(x))
                    tree.fit(x[idx], y[idx], check_input=False)
                else:
                    tree.fit(x, y, check_input=False)
                trees.append(tree)
        self._trees = trees

    @property
    def fitted(self) -> bool:
        return bool(self._trees)

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance over trees, one prediction call per tree on the whole batch."""
        assert self._trees
        x = np.ascontiguousarray(x, dtype=np.float32)
        per_tree = np.stack([t.tree_.predict(x)[:, 0] for t in self._trees])
        return per_tree.mean(axis=0), per_tree.var(axis=0)
