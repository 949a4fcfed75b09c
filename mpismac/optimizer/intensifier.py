"""Racing (SMAC's intensification) over (instance, seed) pairs.

Pairs come in one fixed order derived from the seed: seeds outermost, the instances shuffled
within each seed. The incumbents have run on the first `n_inc` pairs. A challenger runs on 1,
2, 4, ... of those pairs, taken in an order of its own (drawn from the seed and its id, as
SMAC2 and SMAC3 shuffle the incumbent's runs for each challenger: with one order for all, a
challenger slower than the incumbent on the first instance alone never got past it); after
each stage it is compared with each incumbent on the pairs of the stage and dropped as soon as
one is better. One that survives all `n_inc` pairs becomes an incumbent, and the incumbents
then get one more pair (up to `max_config_calls`). A decision waits until its stage's trials
have all finished, so the order in which trials finish does not change the outcome.
Multi-fidelity: a challenger starts on the first pair, where its lower rungs ran.

One objective: there is one incumbent; a challenger is dropped when its mean cost is higher,
and replaces the incumbent when it is as good. Several objectives: the incumbents are the
Pareto front of the configurations raced (as SMAC3's multi-objective intensifier keeps it); a
challenger is dropped when an incumbent is at least as good in every objective, and joins the
front otherwise, removing the incumbents it dominates.

Adaptive capping (run_objective runtime, where costs are runtimes and never negative): a
challenger's run gets the time left before its stage's runs add up to `slack` times the
incumbent's on the same pairs (`cap`); a run stopped at its cap, or finished runs that already
add up to more than the incumbent's, drop the challenger at once, without waiting for its other
runs of the stage.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..pareto import dominates
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
    return pairs[: scenario.max_config_calls]


class Intensifier:
    """Which configuration runs on which pair next, and which configuration is the incumbent."""

    def __init__(self, scenario: Scenario, rh: RunHistory, state: dict[str, Any] | None = None,
                 pairs_seed: int | None = None):
        """`pairs_seed`: pSMAC ranks race on the job's pairs, so that they can share results."""
        self.capping = scenario.capping
        self.slack = scenario.adaptive_capping_slackfactor
        self._capped: set[int] = set()  # configurations with a run stopped at its cap: they lost
        self.pairs = make_pairs(scenario, pairs_seed)
        self._pair_index = {p: i for i, p in enumerate(self.pairs)}
        self.max_calls = len(self.pairs)
        self.n_objectives = len(scenario.objectives)
        self.results: dict[int, dict[int, np.ndarray]] = {}  # config -> pair -> cost
        self.started: set[tuple[int, int]] = set()
        self._ran: dict[int, list[int]] = {}  # config -> the pairs it started, in that order
        self._raced: set[int] = set()
        self._order_seed = scenario.seed if pairs_seed is None else pairs_seed
        self._first_fixed = scenario.facade == "multi_fidelity"
        self._orders: dict[int, np.ndarray] = {}  # racing config -> its order of the pairs
        below = scenario.max_budget if scenario.facade == "multi_fidelity" else None  # lower rungs: not raced
        for r in rh.trials.values():
            k = self.pair_of(r.instance, r.seed)
            if k is None or (below is not None and r.budget is not None and r.budget < below):
                continue
            self.mark_started(r.config_id, k)
            if r.status != Status.RUNNING and r.cost:
                self.results.setdefault(r.config_id, {})[k] = np.asarray(r.cost, dtype=float)
            if r.status == Status.CAPPED:
                self._capped.add(r.config_id)
        state = state or {}
        legacy = [state["incumbent"]] if state.get("incumbent") is not None else []  # before the front
        self.incumbents: list[int] = [int(c) for c in state.get("incumbents", legacy)]
        self.n_inc: int = state.get("n_inc", 1)
        self.races: dict[int, int] = {}  # config -> stage, in the order they entered the race
        self._entered: dict[int, int] = {}  # config -> when it entered the race
        self._wanting: list[tuple[int, int]] = []  # heap (entered, config) of races that may want a pair run
        for c, n in state.get("races", {}).items():
            self._set_stage(int(c), n)
        self.changed_by: int | None = state.get("changed_by")

    def state(self) -> dict[str, Any]:
        """A few numbers: rejected configurations are those with trials that are neither the
        incumbent nor racing, so they need not be written down."""
        return {"incumbents": self.incumbents, "n_inc": self.n_inc,
                "races": {str(c): n for c, n in self.races.items()}, "changed_by": self.changed_by}

    @property
    def incumbent(self) -> int | None:
        """The incumbent (several objectives: the first of the front)."""
        return self.incumbents[0] if self.incumbents else None

    def pair_of(self, instance: str | None, seed: int) -> int | None:
        return self._pair_index.get((instance, seed))

    def knows(self, config_id: int) -> bool:
        """Whether the configuration was raced already (it is, was, or lost to the incumbent)."""
        return config_id in self._raced

    # -- what to run -------------------------------------------------------------------------------

    def next_trial(self) -> tuple[int, int] | None:
        """(config, pair) the race wants run next; None when a new challenger is needed. The
        races are looked at in the order they began, through a heap of those that may want a
        pair run: O(log races) with thousands of challengers racing at once."""
        for incumbent in self.incumbents:
            for k in range(self.n_inc):
                if (incumbent, k) not in self.started:
                    return incumbent, k
        while self._wanting:
            config_id = self._wanting[0][1]
            if config_id in self.races:
                stage = self._stage_pairs(config_id, self.races[config_id])
                wanted = next((k for k in stage if (config_id, k) not in self.started), None)
                if wanted is not None:
                    return config_id, wanted
            heapq.heappop(self._wanting)  # every pair of its stage started: back when the stage grows
        return None

    def _order(self, config_id: int) -> np.ndarray:
        """The challenger's own order of all pairs (multi-fidelity: the first pair first)."""
        order = self._orders.get(config_id)
        if order is None:
            first = 1 if self._first_fixed else 0
            rest = generator(self._order_seed, "challenger-order", config_id).permutation(self.max_calls - first)
            order = self._orders[config_id] = np.concatenate([np.arange(first), rest + first])
        return order

    def _stage_pairs(self, config_id: int, stage: int) -> list[int]:
        """The incumbents' pairs a challenger races on at `stage`: those it started already, then
        the next ones in its order, `stage` in all (more when runs shared by other ranks gave it
        more)."""
        pairs = [k for k in self._ran.get(config_id, ()) if k < self.n_inc]
        if len(pairs) < stage:
            order = self._order(config_id)
            ahead = (int(k) for k in order[order < self.n_inc] if (config_id, int(k)) not in self.started)
            pairs.extend(k for k, _ in zip(ahead, range(stage - len(pairs)), strict=False))
        return pairs

    def _set_stage(self, config_id: int, stage: int) -> None:
        """A race enters `stage` (a new one: stage 1)."""
        entered = self._entered.setdefault(config_id, len(self._entered))
        self.races[config_id] = stage
        heapq.heappush(self._wanting, (entered, config_id))

    def add_challenger(self, config_id: int) -> tuple[int, int]:
        """A new configuration enters the race on the first pair of its order."""
        if not self.incumbents and not self.races or not self.knows(config_id):
            self._set_stage(config_id, 1)
        return config_id, self._stage_pairs(config_id, 1)[0]

    def add_shared(self, config_id: int, pair: int) -> None:
        """A run made elsewhere on one of our pairs: a configuration new to the race becomes a
        challenger (it may win the race), a known one just gets the result."""
        if not self.knows(config_id) and config_id not in self.incumbents:
            self._set_stage(config_id, 1)
        self.mark_started(config_id, pair)

    def mark_started(self, config_id: int, pair: int) -> None:
        if (config_id, pair) not in self.started:
            self.started.add((config_id, pair))
            self._ran.setdefault(config_id, []).append(pair)
        self._raced.add(config_id)

    def cap(self, config_id: int, pair: int, cutoff: float) -> float:
        """Adaptive capping: the seconds a run of `config_id` on `pair` may take and still let it
        win its stage: `slack` times the incumbent's runtime on the stage's pairs, less the
        challenger's finished runs there. The cutoff for incumbents, for configurations not
        racing, and while the incumbent has not finished every pair of the stage."""
        stage = self.races.get(config_id)
        if not self.capping or stage is None or not self.incumbents or config_id in self.incumbents:
            return cutoff
        pairs = {*self._stage_pairs(config_id, stage), pair}
        theirs = self._sum(self.incumbents[0], pairs)
        if theirs is None:
            return cutoff
        mine = self.results.get(config_id, {})
        used = sum(float(mine[k][0]) for k in pairs if k in mine and k != pair)
        return round(max(0.0, min(cutoff, self.slack * theirs - used)), 6)

    def _sum(self, config_id: int, pairs: Iterable[int]) -> float | None:
        """Summed first cost over `pairs`, None until all of them have finished."""
        got = self.results.get(config_id, {})
        costs = [got.get(k) for k in pairs]
        if any(c is None for c in costs):
            return None
        return float(sum(c[0] for c in costs if c is not None))

    def _lost_early(self, config_id: int, pairs: list[int]) -> bool:
        """Capping: whether a racing challenger has lost before its stage finished (a run
        stopped at its cap, or finished runs that add up to more than the incumbent's)."""
        if config_id in self._capped:
            return True
        theirs = self._sum(self.incumbents[0], pairs)
        if theirs is None:
            return False
        mine = self.results.get(config_id, {})
        return sum(float(mine[k][0]) for k in pairs if k in mine) > theirs

    # -- results -----------------------------------------------------------------------------------

    def tell(self, config_id: int, pair: int | None, cost: Iterable[float], trial_id: int,
             capped: bool = False) -> bool:
        """Record a result and settle every race it completes; True if the incumbents changed.
        `capped`: the run was stopped at its adaptive cap (its cost is a lower bound)."""
        if pair is None:
            return False
        if capped:
            self._capped.add(config_id)
        self.results.setdefault(config_id, {})[pair] = np.asarray(list(cost), dtype=float)
        before = list(self.incumbents)
        # Only this configuration's race can be newly decided, unless the result is an incumbent's
        # (races waiting for the incumbents' trials) or the incumbents change: then every race is
        # looked at. With thousands of workers, thousands of races run at once.
        only = None if config_id in self.incumbents else config_id
        progressed = True
        while progressed:
            changed = list(self.incumbents)
            progressed = self._settle(trial_id, only)
            if self.incumbents != changed:
                only = None
        return self.incumbents != before

    def _mean(self, config_id: int, pairs: list[int]) -> np.ndarray | None:
        """Mean cost per objective over `pairs`, None until all of them have finished."""
        got = self.results.get(config_id, {})
        if any(k not in got for k in pairs):
            return None
        return np.array([got[k] for k in pairs]).mean(axis=0)

    def _beats(self, theirs: np.ndarray, mine: np.ndarray) -> bool:
        """Whether an incumbent's mean costs drop a challenger's: lower (one objective), or at
        least as good in every objective (several: an equal point adds nothing to the front)."""
        if self.n_objectives == 1:
            return bool(theirs[0] < mine[0])
        return bool(np.all(theirs <= mine))

    def _settle(self, trial_id: int, only: int | None = None) -> bool:
        """Decide one race that can be decided (`only` that configuration's), True if one was."""
        races = list(self.races.items()) if only is None else [(only, self.races[only])] if only in self.races else []
        for config_id, stage in races:
            pairs = self._stage_pairs(config_id, stage)
            if self.capping and self.incumbents and self._lost_early(config_id, pairs):
                self._drop(config_id)
                return True
            mine = self._mean(config_id, pairs)
            if mine is None:
                continue
            if not self.incumbents:  # the first challenger that finished with finite costs
                if np.all(np.isfinite(mine)):
                    self._promote(config_id, len(pairs), trial_id, [])
                else:
                    self._drop(config_id)
                return True
            theirs = [self._mean(c, pairs) for c in self.incumbents]
            if any(t is None for t in theirs):
                continue  # wait for the incumbents' trials on these pairs
            if any(self._beats(t, mine) for t in theirs if t is not None):
                self._drop(config_id)
                return True
            if len(pairs) >= self.n_inc:
                kept = [] if self.n_objectives == 1 else [c for c, t in zip(self.incumbents, theirs, strict=True)
                                                          if not dominates(mine, t)]  # type: ignore[arg-type]
                self._promote(config_id, len(pairs), trial_id, kept)
                return True
            self._set_stage(config_id, min(2 * len(pairs), self.n_inc))
            return True
        return False

    def _drop(self, config_id: int) -> None:
        """A challenger lost; the incumbents get one more pair (a lucky incumbent cannot hide)."""
        del self.races[config_id]
        self._orders.pop(config_id, None)
        if self.incumbents:
            self.n_inc = min(self.max_calls, self.n_inc + 1)

    def _promote(self, config_id: int, stage: int, trial_id: int, kept: list[int]) -> None:
        """`config_id` joins the incumbents `kept` (one objective: none, it replaces the incumbent)."""
        self.races.pop(config_id, None)
        self._orders.pop(config_id, None)
        self.incumbents = [*kept, config_id]
        self.n_inc = min(self.max_calls, max(self.n_inc, stage) + (1 if stage >= self.n_inc else 0))
        self.changed_by = trial_id

    def incumbent_cost(self, config_id: int | None = None) -> tuple[float, ...] | None:
        """Mean cost of an incumbent (default: the first) over the pairs it has finished."""
        config_id = self.incumbent if config_id is None else config_id
        if config_id is None:
            return None
        got = self.results.get(config_id, {})
        if not got:
            return None
        return tuple(float(c) for c in np.array(list(got.values())).mean(axis=0))
