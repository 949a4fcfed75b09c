"""Racing (SMAC's intensification) over (instance, seed) pairs.

Pairs come in one fixed order derived from the seed: seeds outermost, the instances shuffled
within each seed. The incumbent has run on the first `n_inc` pairs. A challenger runs on the
first 1, 2, 4, ... of those pairs; after each stage it is compared with the incumbent on the
pairs both have finished and dropped as soon as it is worse. One that is as good on all
`n_inc` pairs becomes the incumbent, which then gets one more pair (up to
`max_config_calls`). A decision waits until its stage's trials have all finished, so the
order in which trials finish does not change the outcome.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..runhistory import RunHistory
from ..scenario import Scenario
from ..trial import Status
from .streams import derived_int, generator

N_SEEDS_NOISY = 3  # pairs per instance when the target is not deterministic (SMAC3's HPO default)


def make_pairs(scenario: Scenario, seed: int | None = None) -> list[tuple[str | None, int]]:
    """The (instance, seed) pairs in racing order, from `seed` (default: the scenario's)."""
    seed = scenario.seed if seed is None else seed
    instances: list[str | None] = list(scenario.instances) if scenario.instances else [None]
    n_seeds = 1 if scenario.deterministic else N_SEEDS_NOISY
    pairs: list[tuple[str | None, int]] = []
    for s in range(n_seeds):
        order = generator(seed, "instance-order", s).permutation(len(instances))
        trial_seed = derived_int(seed, "trial-seed", s)
        pairs.extend((instances[i], trial_seed) for i in order)
    return pairs


class Intensifier:
    """Which configuration runs on which pair next, and which configuration is the incumbent."""

    def __init__(self, scenario: Scenario, rh: RunHistory, state: dict[str, Any] | None = None,
                 pairs_seed: int | None = None):
        """`pairs_seed`: pSMAC ranks race on the job's pairs, so that they can share results."""
        self.pairs = make_pairs(scenario, pairs_seed)
        self._pair_index = {p: i for i, p in enumerate(self.pairs)}
        self.max_calls = len(self.pairs)
        self.n_objectives = len(scenario.objectives)
        self.results: dict[int, dict[int, np.ndarray]] = {}  # config -> pair -> cost
        self.started: set[tuple[int, int]] = set()
        self._raced: set[int] = set()
        for r in rh.trials.values():
            k = self.pair_of(r.instance, r.seed)
            if k is None:
                continue
            self.mark_started(r.config_id, k)
            if r.status != Status.RUNNING and r.cost:
                self.results.setdefault(r.config_id, {})[k] = np.asarray(r.cost, dtype=float)
        state = state or {}
        self.incumbent: int | None = state.get("incumbent")
        self.n_inc: int = state.get("n_inc", 1)
        self.races: dict[int, int] = {int(c): n for c, n in state.get("races", {}).items()}  # config -> stage
        self.changed_by: int | None = state.get("changed_by")

    def state(self) -> dict[str, Any]:
        """A few numbers: rejected configurations are those with trials that are neither the
        incumbent nor racing, so they need not be written down."""
        return {"incumbent": self.incumbent, "n_inc": self.n_inc, "races": {str(c): n for c, n in self.races.items()},
                "changed_by": self.changed_by}

    def pair_of(self, instance: str | None, seed: int) -> int | None:
        return self._pair_index.get((instance, seed))

    def knows(self, config_id: int) -> bool:
        """Whether the configuration was raced already (it is, was, or lost to the incumbent)."""
        return config_id in self._raced

    # -- what to run -------------------------------------------------------------------------------

    def next_trial(self) -> tuple[int, int] | None:
        """(config, pair) the race wants run next; None when a new challenger is needed."""
        if self.incumbent is not None:
            for k in range(self.n_inc):
                if (self.incumbent, k) not in self.started:
                    return self.incumbent, k
        for config_id, stage in self.races.items():
            for k in range(stage):
                if (config_id, k) not in self.started:
                    return config_id, k
        return None

    def add_challenger(self, config_id: int) -> tuple[int, int]:
        """A new configuration enters the race on the first pair."""
        if self.incumbent is None and not self.races or not self.knows(config_id):
            self.races[config_id] = 1
        return config_id, 0

    def add_shared(self, config_id: int, pair: int) -> None:
        """A run made elsewhere on one of our pairs: a configuration new to the race becomes a
        challenger (it may win the race), a known one just gets the result."""
        if not self.knows(config_id) and config_id != self.incumbent:
            self.races[config_id] = 1
        self.mark_started(config_id, pair)

    def mark_started(self, config_id: int, pair: int) -> None:
        self.started.add((config_id, pair))
        self._raced.add(config_id)

    # -- results -----------------------------------------------------------------------------------

    def tell(self, config_id: int, pair: int | None, cost: Iterable[float], trial_id: int) -> bool:
        """Record a result and settle every race it completes; True if the incumbent changed."""
        if pair is None:
            return False
        self.results.setdefault(config_id, {})[pair] = np.asarray(list(cost), dtype=float)
        before = self.incumbent
        progressed = True
        while progressed:
            progressed = self._settle(trial_id)
        return self.incumbent != before

    def _mean(self, config_id: int, n: int) -> float | None:
        """Mean (scalarized) cost over pairs 0..n-1, None until all of them have finished."""
        got = self.results.get(config_id, {})
        if any(k not in got for k in range(n)):
            return None
        costs = np.array([got[k] for k in range(n)])
        if self.n_objectives == 1:
            return float(costs[:, 0].mean())
        seen = np.array([c for by_pair in self.results.values() for c in by_pair.values()])
        finite = np.where(np.isfinite(seen), seen, np.nan)
        lo, hi = np.nanmin(finite, axis=0), np.nanmax(finite, axis=0)
        return float(((costs.mean(axis=0) - lo) / np.where(hi > lo, hi - lo, 1.0)).mean())

    def _settle(self, trial_id: int) -> bool:
        for config_id, stage in list(self.races.items()):
            mine = self._mean(config_id, stage)
            if mine is None:
                continue
            if self.incumbent is None:  # the first challenger that finished with a finite cost
                if np.isfinite(mine):
                    self._promote(config_id, stage, trial_id)
                else:
                    del self.races[config_id]
                return True
            theirs = self._mean(self.incumbent, stage)
            if theirs is None:
                continue  # wait for the incumbent's trials on these pairs
            if mine > theirs:
                del self.races[config_id]
                self.n_inc = min(self.max_calls, self.n_inc + 1)  # a lucky incumbent cannot hide
                return True
            if stage >= self.n_inc:
                self._promote(config_id, stage, trial_id)
                return True
            self.races[config_id] = min(2 * stage, self.n_inc)
            return True
        return False

    def _promote(self, config_id: int, stage: int, trial_id: int) -> None:
        self.races.pop(config_id, None)
        self.incumbent = config_id
        self.n_inc = min(self.max_calls, max(self.n_inc, stage) + (1 if stage >= self.n_inc else 0))
        self.changed_by = trial_id

    def incumbent_cost(self) -> tuple[float, ...] | None:
        """Mean cost of the incumbent over the pairs it has finished."""
        if self.incumbent is None:
            return None
        got = self.results.get(self.incumbent, {})
        if not got:
            return None
        return tuple(float(c) for c in np.array(list(got.values())).mean(axis=0))
