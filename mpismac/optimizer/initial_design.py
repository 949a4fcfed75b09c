"""Initial design: the default configuration (if asked for) and a scrambled Sobol sequence."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from ConfigSpace import (
    CategoricalHyperparameter,
    Configuration,
    ConfigurationSpace,
    Constant,
    OrdinalHyperparameter,
)
from ConfigSpace.util import deactivate_inactive_hyperparameters
from scipy.stats import qmc

from ..space import config_values
from .streams import derived_int, generator


def initial_design_size(n_hyperparameters: int, n_trials: int, given: int | None = None) -> int:
    """The scenario's `initial_design_size` when `given`, else 2 per hyperparameter plus 2, at most
    a quarter of the budget, at least 2. (SMAC3 uses 10 per hyperparameter; fewer leaves more of
    a 100-trial budget to the model, which measured better in benchmarks/quality.py.)"""
    if given is not None:
        return given
    return max(2, min(2 * n_hyperparameters + 2, n_trials // 4))


def unit_to_config(cs: ConfigurationSpace, point: np.ndarray) -> Configuration:
    """Map a point of the unit cube onto the space; inactive hyperparameters are dropped."""
    values: dict[str, Any] = {}
    for u, hp in zip(point, cs.values(), strict=True):
        if isinstance(hp, Constant):
            values[hp.name] = hp.value
        elif isinstance(hp, (CategoricalHyperparameter, OrdinalHyperparameter)):
            n = len(hp.choices) if isinstance(hp, CategoricalHyperparameter) else len(hp.sequence)
            values[hp.name] = hp.to_value(np.float64(min(n - 1, math.floor(u * n))))
        else:
            values[hp.name] = hp.to_value(np.float64(u))
    return deactivate_inactive_hyperparameters(values, cs)


def initial_design(cs: ConfigurationSpace, n: int, seed: int, use_default: bool) -> list[dict[str, Any]]:
    """`n` configurations as values: the default first if asked, then Sobol points. A point
    that falls on a forbidden combination is replaced by a random sample."""
    out: list[dict[str, Any]] = []
    if use_default:
        out.append(config_values(cs.get_default_configuration()))
    n_sobol = n - len(out)
    if n_sobol <= 0:
        return out[:n]
    sampler = qmc.Sobol(len(cs), scramble=True, seed=generator(seed, "sobol"))
    points = sampler.random_base2(max(0, math.ceil(math.log2(n_sobol))))[:n_sobol]
    for i, point in enumerate(points):
        try:
            config = unit_to_config(cs, point)
            config.check_valid_configuration()
        except (ValueError, KeyError):
            fallback = ConfigurationSpace.from_serialized_dict(cs.to_serialized_dict())
            fallback.seed(derived_int(seed, "sobol-fallback", i))
            config = fallback.sample_configuration()
        out.append(config_values(config))
    return out
