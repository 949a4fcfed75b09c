"""The Gaussian-process surrogate of facade `blackbox`: scikit-learn's GP with an ARD Matern
kernel on one-hot-encoded inputs (mixed spaces: categorical choices are separate axes)."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

N_RESTARTS = 2  # restarts of the marginal-likelihood optimizer, beside its first run


class GaussianProcess:
    """Predictive mean and variance of a (transformed) cost from a GP fitted by marginal likelihood."""

    def __init__(self):
        self._gp: GaussianProcessRegressor | None = None
        self._mu, self._sd = 0.0, 1.0

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int) -> None:
        self._mu, self._sd = float(y.mean()), float(y.std()) or 1.0
        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(np.full(x.shape[1], 0.5), (1e-3, 1e2), nu=2.5) \
            + WhiteKernel(1e-6, (1e-10, 1e-1))
        gp = GaussianProcessRegressor(kernel, n_restarts_optimizer=N_RESTARTS, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(x.astype(np.float64), (y - self._mu) / self._sd)
        self._gp = gp

    @property
    def fitted(self) -> bool:
        return self._gp is not None

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert self._gp is not None
        mean, std = self._gp.predict(x.astype(np.float64), return_std=True)
        return mean * self._sd + self._mu, (std * self._sd) ** 2
