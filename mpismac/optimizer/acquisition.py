"""The acquisition function on a minimized, transformed cost: log expected improvement
(larger is better)."""

from __future__ import annotations

import numpy as np
from scipy.special import erfcx, log_ndtr

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)
_SQRT_HALF_PI = np.sqrt(np.pi / 2)


def log_ei(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """log E[max(best - f, 0)], stable far into the tail (Ament et al., 2023)."""
    z = (best - mean) / std
    out = np.empty_like(z)
    hi = z > -1
    zh = z[hi]
    phi = np.exp(-0.5 * zh**2 - _LOG_SQRT_2PI)
    out[hi] = np.log(zh * np.exp(log_ndtr(zh)) + phi)
    zl = np.maximum(z[~hi], -1e6)
    out[~hi] = -0.5 * zl**2 - _LOG_SQRT_2PI + np.log1p(zl * erfcx(-zl / np.sqrt(2)) * _SQRT_HALF_PI)
    return out + np.log(std)

