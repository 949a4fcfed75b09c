"""Ask/tell optimizer. `ask` proposes a trial (also while others are pending), `tell` takes its
result, `update_model` is the separate, possibly slow, step a runtime can schedule off its
dispatch path. Proposal k draws from streams derived from (seed, k), and the state needed to
carry on after a restart is a small JSON dict."""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import numpy as np
from ConfigSpace import Configuration

from ..runhistory import RunHistory
from ..scenario import Scenario
from ..space import config_values
from ..trial import Status, TrialInfo, TrialValue
from .initial_design import initial_design, initial_design_size
from .intensifier import Intensifier
from .streams import derived_int


@dataclass(frozen=True)
class Incumbent:
    """The best configuration so far and its (mean) cost."""

    config_id: int
    config: dict[str, Any]
    cost: tuple[float, ...]
    trial_id: int  # the trial that made it the incumbent


class Proposer(Protocol):
    """A facade's way of choosing the next configuration."""

    def propose(self, index: int, pending_rows: np.ndarray, count: int = 1) -> list[tuple[dict[str, Any], str]]:
        """Configurations `index` .. `index + count - 1` (values, origin), kept away from the
        `pending_rows` and from one another."""

    def training_set(self, runhistory: RunHistory) -> Any:
        """A refit in three steps, so that it can run in another thread: the data (None: nothing
        to fit), taken in the thread that tells results, ..."""

    def fit(self, data: Any) -> Any:
        """... a fitted model from it (any thread, reading nothing `propose` changes), ..."""

    def install(self, fitted: Any) -> None:
        """... and putting it in place (here again)."""


class _Prepared(NamedTuple):
    """A proposal made ahead, with its vector and the model (`n_fits`) it was made from."""

    values: dict[str, Any]
    origin: str
    row: np.ndarray
    model: int


class RandomSearch:
    """Facade `random`: the initial design, then uniform random samples."""

    def __init__(self, scenario: Scenario):
        self._cs = copy.deepcopy(scenario.configspace)
        self._seed = scenario.seed
        n_init = initial_design_size(len(self._cs), scenario.n_trials)
        self._initial = initial_design(self._cs, n_init, scenario.seed, scenario.use_default_config)
        self._default_first = scenario.use_default_config

    def propose(self, index: int, pending_rows: np.ndarray, count: int = 1) -> list[tuple[dict[str, Any], str]]:
        return [self._one(i) for i in range(index, index + count)]

    def _one(self, index: int) -> tuple[dict[str, Any], str]:
        if index < len(self._initial):
            return self._initial[index], "default" if index == 0 and self._default_first else "sobol"
        self._cs.seed(derived_int(self._seed, "random", index))
        return config_values(self._cs.sample_configuration()), "random"

    def training_set(self, runhistory: RunHistory) -> None:
        """Random search has no model."""
        return None

    def fit(self, data: Any) -> None:
        return None

    def install(self, fitted: Any) -> None:
        return None


def _forest(scenario: Scenario) -> Proposer:
    from .model_bo import ModelBO  # scikit-learn is imported only when a model is used

    return ModelBO(scenario)


def _gaussian_process(scenario: Scenario) -> Proposer:
    from .gp import GaussianProcess
    from .model_bo import ModelBO

    return ModelBO(scenario, GaussianProcess(), one_hot=True, local_every=0)  # a GP extrapolates already


PROPOSERS = {"random": RandomSearch, "hpo": _forest, "blackbox": _gaussian_process}


class Optimizer:
    """SMAC-style optimizer over a scenario. Pass a runhistory and state to carry on a run."""

    def __init__(self, scenario: Scenario, runhistory: RunHistory | None = None,
                 state: dict[str, Any] | None = None, auto_update: bool = True, pairs_seed: int | None = None):
        """`auto_update`: refit the model inside `ask` when results came in since the last fit.
        A runtime that schedules `update_model` itself (off its dispatch path) turns it off.
        `pairs_seed`: the seed of the racing pairs, when not the scenario's (pSMAC)."""
        self.scenario = scenario
        self.auto_update = auto_update
        self._n_told = 0
        self._n_modeled = -1
        self.n_fits = 0  # models installed
        self.runhistory = runhistory or RunHistory(scenario.configspace, scenario.objectives)
        self._proposer: Proposer = PROPOSERS[scenario.facade](scenario)
        state = state or {}
        known = max(self.runhistory.trials, default=-1) + 1
        self._n_proposals = int(state.get("n_proposals", 0))
        self._next_trial_id = max(int(state.get("next_trial_id", 0)), known)
        self._intensifier = Intensifier(scenario, self.runhistory, state.get("intensifier"), pairs_seed)
        self._pending: dict[int, TrialInfo] = {}
        self._prepared: list[_Prepared] = []  # see `propose_job`
        # Trials that were running when the last job stopped run again first, under their own ids.
        self._requeue = deque(r.trial_id for r in self.runhistory.running())

    # -- ask/tell -----------------------------------------------------------------------------------

    def ask(self) -> TrialInfo:
        """The next trial to run: a trial the race needs, else a new configuration from the
        facade. Trials asked and not told yet count as pending."""
        if self._requeue:
            info = self.runhistory.info(self._requeue.popleft())
        else:
            config_id, pair = self._intensifier.next_trial() or self._new_challenger()
            instance, seed = self._intensifier.pairs[pair]
            trial_id = self._next_trial_id
            self._next_trial_id += 1
            info = TrialInfo(trial_id, config_id, self.runhistory.configs[config_id], instance, seed,
                             self.scenario.max_budget, self.runhistory.origins[config_id])
            self._intensifier.mark_started(config_id, pair)
        self._pending[info.trial_id] = info
        return info

    def _new_challenger(self) -> tuple[int, int]:
        if self._prepared:
            newest = max(p.model for p in self._prepared)  # the first made from the newest model
            values, origin, _, _ = self._prepared.pop(next(i for i, p in enumerate(self._prepared)
                                                           if p.model == newest))
        else:
            if self.auto_update:
                self.update_model()
            index = self._n_proposals
            values, origin = self._proposer.propose(index, self._pending_rows())[0]
            self._n_proposals += 1
        config_id, _ = self.runhistory.add_config(values, origin)
        if self._intensifier.knows(config_id):  # proposed again (a small space): its next pair
            started = self._intensifier.started
            pair = next((k for k in range(self._intensifier.max_calls) if (config_id, k) not in started), 0)
            return config_id, pair
        return self._intensifier.add_challenger(config_id)

    def tell(self, info: TrialInfo, value: TrialValue | float | Sequence[float]) -> None:
        """Take a trial's result: a TrialValue, or just its cost(s) for a successful trial."""
        if not isinstance(value, TrialValue):
            costs = (float(value),) if np.isscalar(value) else tuple(float(v) for v in value)  # type: ignore[arg-type]
            value = TrialValue(costs, Status.SUCCESS)
        if info.trial_id not in self.runhistory.trials:
            self.runhistory.start_trial(info, value.start_time)
        self.runhistory.end_trial(info.trial_id, value)
        self._pending.pop(info.trial_id, None)
        self._n_told += 1
        cost = value.cost if value.cost else self.scenario.crash_cost
        self._intensifier.tell(info.config_id, self._intensifier.pair_of(info.instance, info.seed), cost,
                               info.trial_id)

    def tell_shared(self, values: dict[str, Any], origin: str, instance: str | None, seed: int,
                    budget: float | None, value: TrialValue, source: str, origin_trial: int,
                    origin_rank: int) -> TrialInfo:
        """Take a finished run made elsewhere (pSMAC: `source` is another rank or job, where it
        was trial `origin_trial`). It gets a trial id of this run, feeds the model, and the race
        when it ran on one of this run's pairs."""
        config_id, _ = self.runhistory.add_config(values, origin)
        info = TrialInfo(self._next_trial_id, config_id, self.runhistory.configs[config_id], instance, seed,
                         budget, self.runhistory.origins[config_id])
        self._next_trial_id += 1
        self.runhistory.add_shared(info, value, source, origin_trial, origin_rank)
        self._n_told += 1
        pair = self._intensifier.pair_of(instance, seed)
        if pair is not None:
            self._intensifier.add_shared(config_id, pair)
            self._intensifier.tell(config_id, pair, value.cost if value.cost else self.scenario.crash_cost,
                                   info.trial_id)
        return info

    def _pending_rows(self, leaving: Sequence[_Prepared] = ()) -> np.ndarray:
        """Vectors of the trials pending and of the proposals prepared (but those `leaving`):
        what a new proposal keeps away from."""
        rows = [self.runhistory.vector(p.config_id) for p in self._pending.values()]
        rows += [p.row for p in self._prepared if not any(p is q for q in leaving)]
        return np.array(rows).reshape(len(rows), len(self.scenario.configspace))

    def propose_job(self, keep_at_most: int | None = None, count: int = 1) -> Callable[[], Callable[[], None]]:
        """The next `count` new configurations, proposed off the asking thread: call the
        returned `run` in any thread (one at a time); it returns `keep`, to call in the asking
        thread, which holds them for the next `ask`s that need a new configuration. They
        account for the trials pending and the proposals prepared when the job was made, and
        for one another (a queue diversified jointly). Where they would make more than
        `keep_at_most`, they take the places of the oldest made from an older model than the
        current (and do not keep away from those): fresh proposals replace stale ones when
        the queue is full, and add to it when workers drain it."""
        stale = [p for p in self._prepared if p.model < self.n_fits]
        excess = len(self._prepared) + count - keep_at_most if keep_at_most is not None else 0
        leaving = stale[:max(0, excess)]  # the oldest stale ones, replaced by these: not avoided
        index, rows, model = self._n_proposals, self._pending_rows(leaving), self.n_fits
        self._n_proposals += count

        def run() -> Callable[[], None]:
            made = [_Prepared(values, origin, Configuration(self.scenario.configspace, values=values).get_array(),
                              model) for values, origin in self._proposer.propose(index, rows, count)]

            def keep() -> None:  # in the dispatching thread: list work only
                self._prepared = [p for p in self._prepared if not any(p is q for q in leaving)] + made

            return keep

        return run

    @property
    def n_prepared(self) -> int:
        return len(self._prepared)

    @property
    def n_fresh(self) -> int:
        """Prepared proposals made from the current model."""
        return sum(p.model == self.n_fits for p in self._prepared)

    def update_model(self) -> bool:
        """Refit the surrogate on everything told so far (may take a while); nothing to do when
        no result was told since the last fit. True if a model was fit."""
        job = self.refit_job()
        if job is None:
            return False
        fits = self.n_fits
        job()()
        return self.n_fits > fits

    def refit_job(self) -> Callable[[], Callable[[], None]] | None:
        """A refit for a runtime that fits off its dispatch path, None when nothing was told
        since the last one: call the returned `fit` in any thread (proposals go on from the
        current model meanwhile); it returns `install`, to call in the thread that asks."""
        if self._n_modeled == self._n_told:
            return None
        told, data = self._n_told, self._proposer.training_set(self.runhistory)
        self._n_modeled = told  # in the making: not started again for these results

        def fit() -> Callable[[], None]:
            fitted = self._proposer.fit(data) if data is not None else None

            def install() -> None:
                if fitted is not None:
                    self._proposer.install(fitted)
                    self.n_fits += 1

            return install

        return fit

    # -- views ---------------------------------------------------------------------------------------

    @property
    def incumbent(self) -> Incumbent | None:
        config_id = self._intensifier.incumbent
        cost = self._intensifier.incumbent_cost()
        if config_id is None or cost is None:
            return None
        return Incumbent(config_id, self.runhistory.configs[config_id], cost, self._intensifier.changed_by or 0)

    @property
    def needs_first_model(self) -> bool:
        """Results are in but no model was fit from them yet: proposals now would be blind."""
        return self.n_fits == 0 and self._n_told >= 2

    @property
    def pending(self) -> list[TrialInfo]:
        return list(self._pending.values())

    @property
    def next_trial_id(self) -> int:
        return self._next_trial_id

    @property
    def n_requeued(self) -> int:
        return len(self._requeue)

    def counters(self) -> dict[str, Any]:
        """The part of the state that changes with every proposal (small: written per trial)."""
        return {"n_proposals": self._n_proposals, "next_trial_id": self._next_trial_id}

    def state(self) -> dict[str, Any]:
        """What a restarted run needs to carry on where this one is (JSON, a few numbers)."""
        return {**self.counters(), "intensifier": self._intensifier.state()}
