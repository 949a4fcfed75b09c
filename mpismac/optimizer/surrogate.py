"""The random-forest surrogate: scikit-learn's forest, mean and spread over its trees."""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import RandomForestRegressor


class Forest:
    """Predictive mean and variance of a cost (already transformed) from a random forest."""

    def __init__(self, n_trees: int = 10, min_samples_leaf: int = 1, max_features: float = 1.0):
        self.n_trees, self.min_samples_leaf, self.max_features = n_trees, min_samples_leaf, max_features
        self._model: RandomForestRegressor | None = None

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int) -> None:
        model = RandomForestRegressor(n_estimators=self.n_trees, min_samples_leaf=self.min_samples_leaf,
                                      max_features=self.max_features, bootstrap=True, random_state=seed, n_jobs=1)
        model.fit(x, y)
        self._model = model

    @property
    def fitted(self) -> bool:
        return self._model is not None

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance over trees, one prediction call per tree on the whole batch."""
        assert self._model is not None
        x = np.ascontiguousarray(x, dtype=np.float32)
        per_tree = np.stack([t.tree_.predict(x)[:, 0] for t in self._model.estimators_])
        return per_tree.mean(axis=0), per_tree.var(axis=0)
