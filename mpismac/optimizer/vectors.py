"""Configurations as rows of ConfigSpace's vector encoding, handled many at a time.

Random samples, perturbations of good points, and the repair that makes any row a valid
configuration again (inactive hyperparameters NaN, forbidden rows dropped) use ConfigSpace's
own vectorized condition and forbidden checks, in the order of its condition graph.
"""

from __future__ import annotations

import copy

import numpy as np
from ConfigSpace import (
    CategoricalHyperparameter,
    Configuration,
    ConfigurationSpace,
    Constant,
    OrdinalHyperparameter,
    UniformIntegerHyperparameter,
)

from ..space import config_values


class VectorSpace:
    """Sampling, perturbing and repairing vectors of one configuration space."""

    def __init__(self, cs: ConfigurationSpace):
        self.cs = copy.deepcopy(cs)
        hps = list(self.cs.values())
        self.dim = len(hps)
        self.sizes = np.array([len(h.choices) if isinstance(h, CategoricalHyperparameter)
                               else len(h.sequence) if isinstance(h, OrdinalHyperparameter) else 0
                               for h in hps])
        self.constant = np.array([isinstance(h, Constant) for h in hps])
        self.categorical = np.array([isinstance(h, CategoricalHyperparameter) for h in hps])
        self.discrete = self.sizes > 0
        self.numeric = ~self.discrete & ~self.constant
        self.constant_values = np.array([h.to_vector(h.value) if isinstance(h, Constant) else 0.0 for h in hps])
        self._integers = [(i, h) for i, h in enumerate(hps) if isinstance(h, UniformIntegerHyperparameter)]

    def sample(self, n: int, seed: int) -> np.ndarray:
        """`n` random valid configurations as vectors (rows)."""
        self.cs.seed(seed)
        configs = self.cs.sample_configuration(n) if n > 1 else [self.cs.sample_configuration()]
        return np.array([c.get_array() for c in configs]).reshape(n, self.dim)

    def perturb(self, rows: np.ndarray, n_each: int, scale: float, rng: np.random.Generator,
                single: float = 0.0) -> np.ndarray:
        """`n_each` neighbours of every row: Gaussian steps of std `scale` on numeric
        hyperparameters, and on average one discrete hyperparameter changed per neighbour.
        A share `single` of the neighbours steps along one numeric hyperparameter only."""
        base = np.repeat(rows, n_each, axis=0)
        m = len(base)
        fill = rng.random((m, self.dim))
        fill[:, self.discrete] = np.floor(fill[:, self.discrete] * self.sizes[self.discrete])
        out = np.where(np.isnan(base), fill, base)  # inactive now: a value in case it turns active
        steps = rng.normal(0.0, scale, (m, self.dim))
        num = np.where(self.numeric)[0]
        if single > 0 and len(num) > 1:
            one = rng.random(m) < single
            keep = np.zeros((m, self.dim), dtype=bool)
            keep[np.arange(m), num[rng.integers(len(num), size=m)]] = True
            steps[one] = np.where(keep[one], steps[one], 0.0)
        out[:, num] = np.abs(out[:, num] + steps[:, num])  # reflect at 0 ...
        out[:, num] = 1.0 - np.abs(1.0 - out[:, num])  # ... and at 1
        disc = np.where(self.discrete)[0]
        if len(disc):
            flip = rng.random((m, len(disc))) < 1.0 / max(1, len(disc))
            new = np.floor(rng.random((m, len(disc))) * self.sizes[disc])
            out[:, disc] = np.where(flip, new, out[:, disc])
        out[:, self.constant] = self.constant_values[self.constant]
        return self.snap(out)

    def snap(self, rows: np.ndarray) -> np.ndarray:
        """Integer hyperparameters moved (in place) onto their grid of legal vector values."""
        for i, hp in self._integers:
            active = ~np.isnan(rows[:, i])
            rows[active, i] = hp.to_vector(hp.to_value(rows[active, i]))
        return rows

    def repair(self, rows: np.ndarray) -> np.ndarray:
        """Set hyperparameters whose conditions fail to NaN; drop forbidden rows."""
        m = rows.T.copy()  # ConfigSpace's checks take one row per hyperparameter
        dag = self.cs._dag  # the condition graph ConfigSpace samples with
        keep = np.ones(m.shape[1], dtype=bool)
        for clause in dag.unconditional_forbiddens:
            keep &= ~clause.is_forbidden_vector_array(m)
        m = m[:, keep]
        for node in dag.minimum_conditions:
            satisfied = node.condition.satisfied_by_vector_array(m)
            m[np.ix_(node.children_indices, ~satisfied)] = np.nan
        keep = np.ones(m.shape[1], dtype=bool)
        for clause in dag.conditional_forbiddens:
            keep &= ~clause.is_forbidden_vector_array(m)
        return m[:, keep].T

    def to_values(self, row: np.ndarray) -> dict:
        return config_values(Configuration(self.cs, vector=row))

    def one_hot_features(self, rows: np.ndarray) -> np.ndarray:
        """Model inputs for a GP: each categorical choice its own 0/1 axis (all 0 when inactive),
        numeric and ordinal values as they are, inactive ones -1."""
        cols = []
        for j in range(self.dim):
            col = rows[:, j]
            if self.discrete[j] and self.categorical[j]:
                k = int(self.sizes[j])
                hot = np.zeros((len(rows), k))
                active = ~np.isnan(col)
                hot[np.where(active)[0], col[active].astype(int)] = 1.0
                cols.append(hot)
            else:
                scale = max(1, self.sizes[j] - 1) if self.discrete[j] else 1
                cols.append(np.where(np.isnan(col), -1.0, col / scale)[:, None])
        return np.hstack(cols).astype(np.float64)

    def features(self, rows: np.ndarray) -> np.ndarray:
        """Model inputs: discrete indices scaled to [0, 1], inactive hyperparameters -1."""
        x = np.array(rows, dtype=np.float64, copy=True)
        d = self.discrete
        x[:, d] = x[:, d] / np.maximum(1, self.sizes[d] - 1)
        x[np.isnan(x)] = -1.0
        return x.astype(np.float32)
