"""Model-based proposals: facade `hpo` (extremely randomized trees) and facade `blackbox`
(Gaussian process).

After the initial design, each proposal maximizes log expected improvement of the model on
log-scaled costs over random samples plus a local search (three rounds of shrinking steps,
half of them along one hyperparameter) around the best observed points. Past the initial
design but before a model is fitted (it needs results of two configurations), proposals are
plain random samples. With the forest, every LOCAL_EVERY-th proposal is instead a local
step: the minimum of a quadratic model fitted around the best point (local_model.py), which
pins down a smooth optimum the forest's piecewise-constant mean cannot. Several proposals at
once come from one such search: the best candidate, then the best with the acquisition
lowered around it, and so on. Trials still running are accounted for by lowering the
acquisition near them, so no refit is needed per proposal and the model update stays a
separate step (`update_model`).

Several objectives: one model per objective, on costs normalized so that the front seen spans
[0, 1]. Each proposal draws its own weights and minimizes that Chebyshev scalarization
(scalarize.py): a local step on the scalarized costs, else the log expected improvement of the
models scalarized sample by sample (`Scalarized`). Concurrent proposals thus aim at
different parts of the front.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from scipy.spatial import cKDTree

from ..runhistory import RunHistory
from ..scenario import Scenario
from .acquisition import log_ei
from .initial_design import initial_design, initial_design_size
from .local_model import LOCAL, local_step
from .observations import Observations
from .scalarize import chebyshev, normalized, random_weights
from .streams import derived_int, generator
from .surrogate import Forest
from .vectors import VectorSpace

N_RANDOM = 500
N_STARTS = 10
LOCAL_ROUNDS = ((0.15, 60), (0.05, 60), (0.015, 60))  # (step std in the unit cube, neighbours per start)
PENDING_LENGTH = 0.02  # how far (per dimension, unit cube) the acquisition is lowered around a pending trial
MAX_TRAINING = 4000  # configurations a model learns from at most (see `_bounded`)
DENSE_PENDING = 64  # up to this many pending trials, distances to them as one matrix; beyond, a k-d tree
SINGLE = 0.5  # share of local-search neighbours that move one numeric hyperparameter only
LOCAL_EVERY = 2  # hpo: proposals whose index is a multiple of this are local steps (0: none)
N_SAMPLES = 32  # several objectives, models other than a forest: draws per prediction to scalarize


def log_scaled(costs: np.ndarray) -> np.ndarray:
    """log(cost - min + delta): long tails (Rosenbrock) compressed, order kept. When several
    configurations tie at the best cost (validation errors come in steps of one sample), delta is
    at least the step to the next value: a plateau a few log units below everything else made
    the acquisition propose on it again and again."""
    low = costs.min()
    delta = max(1e-12, 1e-2 * (float(np.median(costs)) - low))
    above = costs[costs > low]
    if len(above) and np.count_nonzero(costs == low) > 1:  # ties at the best: a plateau (CV errors)
        delta = max(delta, float(above.min()) - low)  # must not make the plateau a deep well
    return np.log(costs - low + delta)


class Surrogate(Protocol):
    @property
    def fitted(self) -> bool: ...

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int) -> None: ...

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass(frozen=True)
class TrainingSet:
    """What a model learns from: vectors, their transformed costs (the surrogate's target) and
    raw costs (the local model's), and the seed of the fit. Several objectives: both are the
    normalized costs (rows x objectives), scalarized per proposal."""

    rows: np.ndarray
    y: np.ndarray
    costs: np.ndarray
    seed: int
    observed: np.ndarray  # every configuration told (rows may be a subset): never proposed again


def bounded_rows(rank: np.ndarray, seed: int) -> np.ndarray | None:
    """None, or past MAX_TRAINING rows the indices of that many to learn from: the best half by
    `rank` (lower is better; the local model fits around the best) and a uniform sample of the
    rest, drawn from the fit's seed."""
    n = len(rank)
    if n <= MAX_TRAINING:
        return None
    order = np.argsort(rank, kind="stable")
    best, rest = order[: MAX_TRAINING // 2], order[MAX_TRAINING // 2:]
    sample = np.random.default_rng(seed).choice(rest, MAX_TRAINING - len(best), replace=False)
    return np.sort(np.concatenate([best, sample]))


def _bounded(data: TrainingSet, rank: np.ndarray) -> TrainingSet:
    """`data`, or past MAX_TRAINING configurations the subset `bounded_rows` keeps."""
    keep = bounded_rows(rank, data.seed)
    if keep is None:
        return data
    return TrainingSet(data.rows[keep], data.y[keep], data.costs[keep], data.seed, data.observed)


class ModelBO:
    """Proposals from a surrogate: `Forest` for `hpo`, `GaussianProcess` for `blackbox`.
    `local_every`: every so many proposals are local steps (0: never)."""

    def __init__(self, scenario: Scenario, surrogate: Surrogate | None = None, one_hot: bool = False,
                 local_every: int = LOCAL_EVERY):
        self.space = VectorSpace(scenario.configspace)
        self.one_hot = one_hot
        self.local_every = local_every
        self.seed = scenario.seed
        n_init = initial_design_size(self.space.dim, scenario.n_trials, scenario.initial_design_size)
        self._initial = initial_design(self.space.cs, n_init, scenario.seed,
                                       bool(scenario.use_default_config))
        self._default_first = bool(scenario.use_default_config)
        self.forest: Surrogate = surrogate or Forest()
        self._per_objective: list[Surrogate] = []  # several objectives: one model each
        self._ready = False  # a model is in place
        self._x = self._observed = np.empty((0, self.space.dim))
        self._y = np.empty(0)
        self._costs = np.empty(0)
        self._seen: set[bytes] | None = None  # the data's feature rows (never proposed again), made when needed

    def training_set(self, rh: RunHistory, observed: Observations) -> TrainingSet | None:
        """What the model learns from, as arrays (cheap; in the thread that tells results): at
        most MAX_TRAINING configurations, so that a refit does not grow without bound."""
        ids, costs = observed.costs()
        if len(ids) < 2:
            return None
        seed = derived_int(self.seed, "forest", len(ids))
        rows = rh.vectors()[ids]
        if costs.shape[1] > 1:
            scaled = normalized(costs)
            return _bounded(TrainingSet(rows, scaled, scaled, seed, rows), scaled.max(axis=1))
        return _bounded(TrainingSet(rows, log_scaled(costs[:, 0]), costs[:, 0], seed, rows), costs[:, 0])

    def fit(self, data: TrainingSet) -> tuple[Any, TrainingSet]:
        """A new fitted surrogate; touches nothing that `propose` reads, so it may run in
        another thread while proposals go on from the current model. Several objectives: one
        surrogate per objective, on its normalized costs."""
        if data.y.ndim == 2:
            models = []
            for k in range(data.y.shape[1]):
                model = copy.copy(self.forest)
                model.fit(self._features(data.rows), data.y[:, k], derived_int(data.seed, "objective", k))
                models.append(model)
            return models, data
        surrogate = copy.copy(self.forest)  # unfitted or not: `fit` replaces what it learned
        surrogate.fit(self._features(data.rows), data.y, data.seed)
        return surrogate, data

    def install(self, fitted: tuple[Any, TrainingSet]) -> None:
        model, data = fitted
        if data.y.ndim == 2:
            self._per_objective = model
        else:
            self.forest = model
        self._x, self._y, self._costs, self._observed = data.rows, data.y, data.costs, data.observed
        self._seen = None
        self._ready = True

    def _features(self, rows: np.ndarray) -> np.ndarray:
        return self.space.one_hot_features(rows) if self.one_hot else self.space.features(rows)

    def propose(self, index: int, pending_rows: np.ndarray, count: int = 1) -> list[tuple[dict[str, Any], str]]:
        """Configurations `index` .. `index + count - 1`, kept away from the `pending_rows`
        (vectors of the trials running and of the proposals made but not run yet) and from one
        another. Reads the model, never changes it."""
        out: list[tuple[dict[str, Any], str]] = []
        while len(out) < count and index + len(out) < len(self._initial):
            i = index + len(out)
            out.append((self._initial[i], "default" if i == 0 and self._default_first else "sobol"))
        first = index + len(out)
        if self._ready and self._y.ndim == 2:
            return out + self._propose_scalarized(first, index + count, pending_rows)
        rng = generator(self.seed, "propose", first)
        if self.forest.fitted:
            # One draw per proposal, as a removed random-interleaving option used to make: the
            # local search below perturbs from this stream, so a seed's proposals stay the same.
            rng.random(index + count - first)
        n_model, local_tried = 0, False
        for i in range(first, index + count):
            if not self.forest.fitted:
                row = self.space.sample(1, derived_int(self.seed, "random", i))[0]
                out.append((self.space.to_values(row), "random"))
            elif self.local_every and i % self.local_every == 0 and not local_tried:
                local_tried = True  # one model has one local step
                row = local_step(self.space, self._x, self._costs, avoid=self._avoid(pending_rows))
                if row is None:
                    n_model += 1
                else:
                    out.append((self.space.to_values(row), LOCAL))
                    pending_rows = np.vstack([pending_rows, row[None]])  # the acquisition keeps away from it
            else:
                n_model += 1
        if n_model:
            rows = self._maximize(rng, derived_int(self.seed, "candidates", first), pending_rows, n_model)
            out += [(self.space.to_values(row), "acquisition") for row in rows]
        return out

    def _propose_scalarized(self, first: int, end: int, pending_rows: np.ndarray) -> list[tuple[dict[str, Any], str]]:
        """Several objectives: proposals `first` .. `end - 1`, each minimizing its own random
        Chebyshev scalarization (a local step, or the acquisition of a model of it)."""
        out: list[tuple[dict[str, Any], str]] = []
        for i in range(first, end):
            weights = random_weights(self.seed, i, int(self._y.shape[-1]))
            view = self._scalarized(weights)
            row = None
            if self.local_every:  # a local step each time (measured: better than every other)
                row = local_step(self.space, view._x, view._costs, avoid=pending_rows)
            origin = LOCAL
            if row is None:
                rng = generator(self.seed, "propose", i)
                row = view._maximize(rng, derived_int(self.seed, "candidates", i), pending_rows, 1)[0]
                origin = "acquisition"
            out.append((self.space.to_values(row), origin))
            pending_rows = np.vstack([pending_rows, row[None]])
        return out

    def _avoid(self, pending_rows: np.ndarray) -> np.ndarray:
        """What a local step must not land on besides the rows it fits: the pending rows."""
        return pending_rows

    def _seen_rows(self) -> set[bytes]:
        """The data's feature rows, rounded: never proposed again (made once per model)."""
        if self._seen is None:
            self._seen = {r.tobytes() for r in np.round(self._features(self._observed), 9)}
        return self._seen

    def _scalarized(self, weights: np.ndarray) -> ModelBO:
        """A view of this model on one scalarization of the objectives: its data, and the
        per-objective models scalarized sample by sample."""
        self._seen_rows()  # made here once, not in each view
        view = copy.copy(self)
        view._costs = view._y = chebyshev(self._y, weights)
        view.forest = Scalarized(self._per_objective, weights)
        return view

    # -- acquisition maximization -------------------------------------------------------------------

    def _penalty(self, feats: np.ndarray, others: np.ndarray) -> np.ndarray:
        """log of how far each row is from the nearest of `others` (features), in (-690, 0]:
        near 0 beyond a few PENDING_LENGTHs, very low on top of one. Many others (thousands of
        trials running): the nearest through a k-d tree, not a rows x others matrix."""
        feats, others = feats.astype(np.float64), others.astype(np.float64)
        if len(others) > DENSE_PENDING:
            d2 = cKDTree(others).query(feats, k=1)[0] ** 2
        else:
            d2 = ((feats[:, None, :] - others[None, :, :]) ** 2).sum(axis=2).min(axis=1)
        length2 = (PENDING_LENGTH**2) * self.space.dim
        return np.log(np.maximum(-np.expm1(-d2 / length2), 1e-300))

    def _score(self, rows: np.ndarray, pending: np.ndarray) -> np.ndarray:
        feats = self._features(rows)
        mean, var = self.forest.predict(feats)
        floor = 1e-3 * float(np.std(self._y)) + 1e-9
        score = log_ei(mean, np.sqrt(var) + floor, float(self._y.min()))
        if len(pending):  # lower the acquisition near running trials: a batch spreads out
            score = score + self._penalty(feats, self._features(pending))
        return score

    def _maximize(self, rng: np.random.Generator, sample_seed: int, pending: np.ndarray, count: int) -> np.ndarray:
        """`count` rows: the best of random samples and of a local search from the best points,
        then (count > 1) the best again with the acquisition lowered around the rows chosen."""
        random_rows = self.space.sample(N_RANDOM, sample_seed)
        starts = self._x[np.argsort(self._y)[:N_STARTS]]
        pool = np.vstack([random_rows, starts])
        scores = self._score(pool, pending)
        current = pool[np.argsort(-scores)[:N_STARTS]]
        pools, pool_scores = [pool], [scores]
        for scale, n_each in LOCAL_ROUNDS:
            seeds = np.vstack([current, starts[: max(1, N_STARTS // 2)]])
            neighbours = self.space.repair(self.space.perturb(seeds, n_each, scale, rng, SINGLE))
            if not len(neighbours):
                continue
            s = self._score(neighbours, pending)
            pools.append(neighbours)
            pool_scores.append(s)
            both = np.vstack([current, neighbours])
            both_scores = np.concatenate([self._score(current, pending), s])
            current = both[np.argsort(-both_scores)[:N_STARTS]]
        rows = np.vstack(pools)
        scores = np.concatenate(pool_scores)
        feats = self._features(rows)
        seen = self._seen_rows()
        scores[[r.tobytes() in seen for r in np.round(feats, 9)]] = -np.inf  # never a configuration run before
        chosen: list[np.ndarray] = []
        for k in range(count):
            best = int(np.argmax(scores))
            if not math.isfinite(scores[best]):  # nothing left: random rows
                chosen.append(random_rows[k % len(random_rows)])
                continue
            chosen.append(rows[best])
            scores[best] = -np.inf
            if k + 1 < count:
                scores = scores + self._penalty(feats, feats[best : best + 1])
        return np.array(chosen)


class Scalarized:
    """The Chebyshev scalarization of per-objective models, sample by sample: the i-th trees
    of the objectives' forests make one sample of the scalarized cost (other models: draws
    from their normal predictions), whose mean and variance are the prediction."""

    def __init__(self, models: list[Surrogate], weights: np.ndarray):
        self.models, self.weights = models, weights

    @property
    def fitted(self) -> bool:
        return True

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int) -> None:
        raise TypeError("a view of models fitted per objective")

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        samples = np.stack([self._samples(m, x) for m in self.models], axis=-1)  # samples x rows x objectives
        values = chebyshev(samples, self.weights)
        return values.mean(axis=0), values.var(axis=0)

    @staticmethod
    def _samples(model: Surrogate, x: np.ndarray) -> np.ndarray:
        if isinstance(model, Forest):
            return model.per_tree(x)
        mean, var = model.predict(x)
        z = np.random.default_rng(0).standard_normal((N_SAMPLES, 1))  # the same draws for every row
        return mean + np.sqrt(var) * z
