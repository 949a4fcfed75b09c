"""Model-based new configurations for facade `multi_fidelity`: one forest learns from every
budget, with the budget's rung as a feature (0 at min_budget, 1 at max_budget), so that cheap
low-budget results shape it from the start; a budget whose ranking of configurations is unlike
the larger ones' (the ladder's trust) lends it fewer of its results. Proposals maximize its
expected improvement at the highest rung with at least MIN_AT_RUNG results, against the best
cost there (BOHB's rule for which budget to trust), pending-aware, with local steps on that
rung's results, as in `hpo` (model_bo.py); a local step runs at max_budget (optimizer.py).
Which rung any other new configuration starts at is the ladder's (hyperband.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..runhistory import RunHistory
from ..scenario import Scenario, budget_levels
from .model_bo import ModelBO, TrainingSet, bounded_rows, log_scaled
from .observations import Observations
from .streams import derived_int, generator
from .surrogate import Forest

MIN_AT_RUNG = 4  # results a rung needs before proposals aim at it


@dataclass(frozen=True)
class RungTrainingSet:
    """Every result as (configuration row, rung level in [0, 1]) -> log-scaled cost, and the
    view of the aimed-at rung that the acquisition and the local steps read."""

    rows: np.ndarray
    levels: np.ndarray
    y: np.ndarray
    seed: int
    aim: TrainingSet
    aim_level: float


class AtLevel:
    """The joint forest seen at one rung level: what the acquisition maximizes."""

    def __init__(self, forest: Forest, level: float):
        self.model, self.level = forest, level

    @property
    def fitted(self) -> bool:
        return self.model.fitted

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int) -> None:
        raise TypeError("a view of a forest fitted over every budget")

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.model.predict(with_level(x, self.level))


def with_level(features: np.ndarray, level: float | np.ndarray) -> np.ndarray:
    """Feature rows with the rung level as one more column."""
    column = np.broadcast_to(np.asarray(level, dtype=features.dtype), (len(features),))
    return np.hstack([features, column[:, None]])


class MultiFidelityBO(ModelBO):
    """`hpo`'s proposals from a forest over (configuration, budget)."""

    def __init__(self, scenario: Scenario):
        super().__init__(scenario)
        assert scenario.min_budget is not None and scenario.max_budget is not None
        self.n_rungs = len(budget_levels(scenario.min_budget, scenario.max_budget, scenario.eta))
        self.rung_trust: Callable[[int], float] = lambda rung: 1.0  # the ladder's (Ladder.trust)

    def training_set(self, rh: RunHistory, observed: Observations) -> RungTrainingSet | None:  # type: ignore[override]
        """The results per (configuration, rung), at most MAX_TRAINING of them; the rung aimed
        at is the highest with MIN_AT_RUNG results (the lowest rung until one has them). Of a
        lower rung, a random share sqrt(rung_trust) of its results."""
        keys, costs = observed.costs()
        if len(keys) < 2:
            return None
        ids = np.fromiter((k[0] for k in keys), dtype=np.int64, count=len(keys))
        rungs = np.fromiter((k[1] for k in keys), dtype=np.int64, count=len(keys))
        seed = derived_int(self.seed, "forest", len(keys))
        every = all_rows = rh.vectors()[ids]
        y, raw = log_scaled(costs[:, 0]), costs[:, 0]
        counts = np.bincount(rungs, minlength=self.n_rungs)
        enough = np.nonzero(counts >= MIN_AT_RUNG)[0]
        aim = int(enough.max()) if len(enough) else int(rungs.min())
        # a rung below the aim lends the forest a share of its results: sqrt(trust), all when its
        # ranking is the top rung's, few when it is noise (measured: benchmarks/README.md)
        share = np.array([1.0 if r >= aim else self.rung_trust(r) ** 0.5 for r in range(self.n_rungs)])
        learn = generator(seed, "rungs").random(len(keys)) < share[rungs]
        ids, rungs, all_rows, y, raw = ids[learn], rungs[learn], all_rows[learn], y[learn], raw[learn]
        keep = bounded_rows(y - (rungs == aim) * (y.max() - y.min() + 1.0), seed)  # the aimed-at rung first
        rows, levels, y, raw, rungs = (all_rows, rungs / (self.n_rungs - 1), y, raw, rungs) if keep is None else \
            (all_rows[keep], rungs[keep] / (self.n_rungs - 1), y[keep], raw[keep], rungs[keep])
        at = rungs == aim
        view = TrainingSet(rows[at], y[at], raw[at], seed, every)
        return RungTrainingSet(rows, levels, y, seed, view, aim / (self.n_rungs - 1))

    def fit(self, data: RungTrainingSet) -> tuple[AtLevel, TrainingSet]:  # type: ignore[override]
        forest = Forest()
        forest.fit(with_level(self._features(data.rows), data.levels), data.y, data.seed)
        return AtLevel(forest, data.aim_level), data.aim

    def _avoid(self, pending_rows: np.ndarray) -> np.ndarray:
        """Local steps fit the aimed-at rung's results: they must not land on a configuration
        that ran at another budget either."""
        return np.vstack([pending_rows, self._observed]) if len(self._observed) else pending_rows
