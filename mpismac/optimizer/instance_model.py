"""The model of facade `algorithm_configuration`: one forest over (configuration, instance) per
run, as SMAC's, rather than over each configuration's mean cost.

A configuration raced on two easy instances and another on all fifty have means that cannot be
compared; a model of each run's cost from the configuration and the instance's features can,
and its prediction averaged over the training instances ranks configurations as the racing
does. An instance is described by its features, if given, and always by its hardness: the mean
log cost of the runs on it (features such as a formula's size often barely tell instances of one
family apart, while their runtimes span orders of magnitude). Leaves hold at least MIN_LEAF runs:
one run's cost is noisy, and leaves of one run ranked configurations no better than chance
(benchmarks/README.md, "Algorithm configuration"). With `run_objective: runtime` the model
learns log runtimes, and a run that was stopped (at its cap, or at the cutoff) is a censored
observation: its runtime is at least what it ran, and is imputed as the forest's expectation
above that bound (SMAC2's imputation, two rounds), never beyond par_factor x cutoff.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import norm

from ..runhistory import RunHistory
from ..scenario import Scenario
from ..trial import Status
from .model_bo import ModelBO, log_scaled
from .observations import Observations
from .streams import derived_int
from .surrogate import Forest

N_REPRESENTATIVES = 8  # training instances the prediction of a configuration is averaged over
MAX_RUNS = 4000  # runs a model learns from at most (a seeded sample beyond)
IMPUTATION_ROUNDS = 2
MIN_LEAF = 5  # runs per leaf at least
MIN_RUNTIME = 1e-3  # seconds: log of a runtime measured as 0


@dataclass(frozen=True)
class RunData:
    """A fit's data: one row per run (configuration features beside instance features), its
    target (log runtime, or scaled cost), which rows are censored and their lower bounds, the
    features of the representative instances, and the configurations seen."""

    x: np.ndarray
    y: np.ndarray
    censored: np.ndarray
    ceiling: float  # no imputed value above this
    representatives: np.ndarray  # K x instance features
    config_rows: np.ndarray  # vectors of the configurations told
    seed: int


def _hardness(instances: list[str], y: np.ndarray) -> dict[str, np.ndarray]:
    """Each instance's mean target over its runs (censored ones at their bound): a feature of
    the instance for the model, and the order representatives are picked in."""
    runs: dict[str, list[float]] = {}
    for i, v in zip(instances, y, strict=True):
        runs.setdefault(i, []).append(float(v))
    return {i: np.array([np.mean(v)], dtype=np.float32) for i, v in runs.items()}


def fit_censored(x: np.ndarray, y: np.ndarray, censored: np.ndarray, ceiling: float, seed: int
                 ) -> tuple[Forest, np.ndarray]:
    """A forest on `y` where the censored entries are lower bounds: each is replaced by the
    forest's expectation of the value given that it exceeds its bound (a normal of the trees'
    mean and spread, truncated there), at most `ceiling`, and the forest refit, twice. The
    forest and the values it was last fit on."""
    y, bound = y.copy(), y[censored].astype(float)
    forest = Forest(MIN_LEAF)
    forest.fit(x, y, seed)
    for round_ in range(IMPUTATION_ROUNDS if censored.any() else 0):
        mean, var = forest.predict(x[censored])
        sd = np.sqrt(var) + 1e-6
        alpha = (bound - mean) / sd
        above = mean + sd * np.exp(norm.logpdf(alpha) - norm.logsf(alpha))  # E[Y | Y > bound]
        y[censored] = np.minimum(np.maximum(above, bound), max(ceiling, float(bound.max())))
        forest = Forest(MIN_LEAF)
        forest.fit(x, y, derived_int(seed, "imputation", round_))
    return forest, y


class Marginal:
    """A forest over (configuration, instance) seen as a model of configurations: each row's
    prediction averaged over the representative instances."""

    def __init__(self, forest: Forest, representatives: np.ndarray):
        self.forest, self.representatives = forest, representatives

    @property
    def fitted(self) -> bool:
        return self.forest.fitted

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int) -> None:
        raise TypeError("a view of a forest fitted on runs")

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = len(self.representatives)
        tiled = np.hstack([np.repeat(x, k, axis=0), np.tile(self.representatives, (len(x), 1))])
        mean, var = self.forest.predict(tiled)
        return mean.reshape(len(x), k).mean(axis=1), var.reshape(len(x), k).mean(axis=1)


class InstanceBO(ModelBO):
    """Proposals of facade `algorithm_configuration` (one objective): the acquisition of `hpo`
    on the forest of runs, marginalized over instances; no quadratic local steps (per-config
    means over different instances would mislead them)."""

    def __init__(self, scenario: Scenario):
        super().__init__(scenario, local_every=0)
        self.features = scenario.instance_features
        self.runtime = scenario.run_objective == "runtime"
        self.ceiling = math.log(scenario.par_factor * scenario.cutoff) if scenario.cutoff else math.inf

    def training_set(self, rh: RunHistory, observed: Observations) -> RunData | None:  # type: ignore[override]
        runs = [r for r in rh.trials.values() if r.status != Status.RUNNING and r.cost and r.instance is not None]
        if len({r.config_id for r in runs}) < 2:
            return None
        seed = derived_int(self.seed, "forest", len(runs))
        if len(runs) > MAX_RUNS:
            keep = np.random.default_rng(seed).choice(len(runs), MAX_RUNS, replace=False)
            runs = [runs[i] for i in np.sort(keep)]
        cost = np.array([r.cost[0] for r in runs], dtype=float)
        censored = np.array([r.status in (Status.CAPPED, Status.TIMEOUT) for r in runs]) if self.runtime \
            else np.zeros(len(runs), dtype=bool)
        if self.runtime:  # a timeout's bound is what it ran, not its PAR cost
            ran = np.array([float(r.additional_info.get("runtime", r.cost[0])) for r in runs])
            y = np.log(np.maximum(np.where(censored, ran, cost), MIN_RUNTIME))
        else:
            finite = np.isfinite(cost)
            y = log_scaled(np.where(finite, cost, cost[finite].max() if finite.any() else 1.0))
        instances = [str(r.instance) for r in runs]
        hardness = _hardness(instances, y)
        table = hardness if self.features is None else \
            {i: np.concatenate([np.asarray(self.features[i], dtype=np.float32), h]) for i, h in hardness.items()}
        order = sorted(hardness, key=lambda i: (float(hardness[i][0]), i))  # easiest to hardest
        picks = np.unique(np.linspace(0, len(order) - 1, min(N_REPRESENTATIVES, len(order))).round().astype(int))
        representatives = np.array([table[order[p]] for p in picks], dtype=np.float32)
        config_rows = rh.vectors()[observed.costs()[0]] if len(observed) else rh.vectors()
        x = np.hstack([self._features(rh.vectors()[[r.config_id for r in runs]]),
                       np.array([table[i] for i in instances], dtype=np.float32)])
        return RunData(x, y, censored, self.ceiling, representatives, config_rows, seed)

    def fit(self, data: RunData) -> tuple[Any, RunData]:  # type: ignore[override]
        """The forest of runs, censored runs imputed from it; then each configuration seen as
        the model sees it (marginal mean), for the acquisition's incumbent and starts."""
        forest, _ = fit_censored(data.x, data.y, data.censored, data.ceiling, data.seed)
        marginal = Marginal(forest, data.representatives)
        seen_mean, _ = marginal.predict(self._features(data.config_rows))
        return marginal, RunData(data.x, seen_mean, data.censored, data.ceiling, data.representatives,
                                 data.config_rows, data.seed)

    def install(self, fitted: tuple[Any, RunData]) -> None:  # type: ignore[override]
        marginal, data = fitted
        self.forest = marginal
        self._x = self._observed = data.config_rows
        self._y = self._costs = data.y
        self._seen = None
        self._ready = True
