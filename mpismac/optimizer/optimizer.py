"""Ask/tell optimizer. `ask` proposes a trial (also while others are pending), `tell` takes its
result, `update_model` is the separate, possibly slow, step a runtime can schedule off its
dispatch path. Proposal k draws from streams derived from (seed, k), and the state needed to
carry on after a restart is a small JSON dict."""

from __future__ import annotations

import copy
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..runhistory import RunHistory
from ..scenario import Scenario
from ..space import config_values
from ..trial import Status, TrialInfo, TrialValue
from .initial_design import initial_design, initial_design_size
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

    def propose(self, index: int, runhistory: RunHistory, pending: Sequence[TrialInfo]) -> tuple[dict[str, Any], str]:
        ...

    def update_model(self, runhistory: RunHistory) -> None:
        ...


class RandomSearch:
    """Facade `random`: the initial design, then uniform random samples."""

    def __init__(self, scenario: Scenario):
        self._cs = copy.deepcopy(scenario.configspace)
        self._seed = scenario.seed
        n_init = initial_design_size(len(self._cs), scenario.n_trials)
        self._initial = initial_design(self._cs, n_init, scenario.seed, scenario.use_default_config)

    def propose(self, index: int, runhistory: RunHistory, pending: Sequence[TrialInfo]) -> tuple[dict[str, Any], str]:
        if index < len(self._initial):
            origin = "default" if index == 0 and len(self._initial) and self._is_default(index) else "sobol"
            return self._initial[index], origin
        self._cs.seed(derived_int(self._seed, "random", index))
        return config_values(self._cs.sample_configuration()), "random"

    def _is_default(self, index: int) -> bool:
        return self._initial[index] == config_values(self._cs.get_default_configuration())

    def update_model(self, runhistory: RunHistory) -> None:
        """Random search has no model."""


def _forest(scenario: Scenario) -> Proposer:
    from .forest_bo import ForestBO  # scikit-learn is imported only when the facade is used

    return ForestBO(scenario)


PROPOSERS = {"random": RandomSearch, "hpo": _forest}


class Optimizer:
    """SMAC-style optimizer over a scenario. Pass a runhistory and state to carry on a run."""

    def __init__(self, scenario: Scenario, runhistory: RunHistory | None = None,
                 state: dict[str, Any] | None = None, auto_update: bool = True):
        """`auto_update`: refit the model inside `ask` when results came in since the last fit.
        A runtime that schedules `update_model` itself (off its dispatch path) turns it off."""
        self.scenario = scenario
        self.auto_update = auto_update
        self._n_told = 0
        self._n_modeled = -1
        self.runhistory = runhistory or RunHistory(scenario.configspace, scenario.objectives)
        self._proposer: Proposer = PROPOSERS[scenario.facade](scenario)
        state = state or {}
        known = max(self.runhistory.trials, default=-1) + 1
        self._n_proposals = int(state.get("n_proposals", 0))
        self._next_trial_id = max(int(state.get("next_trial_id", 0)), known)
        self._pending: dict[int, TrialInfo] = {}
        # Trials that were running when the last job stopped run again first, under their own ids.
        self._requeue = deque(r.trial_id for r in self.runhistory.running())
        self._incumbent: Incumbent | None = None
        self._recompute_incumbent()

    # -- ask/tell -----------------------------------------------------------------------------------

    def ask(self) -> TrialInfo:
        """The next trial to run. Trials asked and not told yet count as pending."""
        if self._requeue:
            info = self.runhistory.info(self._requeue.popleft())
        else:
            if self.auto_update and self._n_modeled != self._n_told:
                self.update_model()
            index = self._n_proposals
            values, origin = self._proposer.propose(index, self.runhistory, list(self._pending.values()))
            self._n_proposals += 1
            config_id, _ = self.runhistory.add_config(values, origin)
            trial_id = self._next_trial_id
            self._next_trial_id += 1
            info = TrialInfo(trial_id, config_id, values, self._instance(index), self._trial_seed(trial_id),
                             self.scenario.max_budget, origin)
        self._pending[info.trial_id] = info
        return info

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
        if value.ok:
            self._update_incumbent(info)

    def update_model(self) -> None:
        """Refit the surrogate on everything told so far (may take a while)."""
        self._proposer.update_model(self.runhistory)
        self._n_modeled = self._n_told

    # -- views ---------------------------------------------------------------------------------------

    @property
    def incumbent(self) -> Incumbent | None:
        return self._incumbent

    @property
    def pending(self) -> list[TrialInfo]:
        return list(self._pending.values())

    @property
    def n_requeued(self) -> int:
        return len(self._requeue)

    def state(self) -> dict[str, Any]:
        """What a restarted run needs to carry on where this one is (JSON)."""
        return {"n_proposals": self._n_proposals, "next_trial_id": self._next_trial_id}

    # -- internals -----------------------------------------------------------------------------------

    def _instance(self, index: int) -> str | None:
        instances = self.scenario.instances
        return instances[index % len(instances)] if instances else None

    def _trial_seed(self, trial_id: int) -> int:
        return derived_int(self.scenario.seed, "trial-seed", 0 if self.scenario.deterministic else trial_id)

    def _config_means(self) -> tuple[list[int], np.ndarray, dict[int, int]]:
        """Mean cost per configuration over its successful trials, and the trial that set it."""
        sums: dict[int, np.ndarray] = {}
        counts: dict[int, int] = {}
        last: dict[int, int] = {}
        for r in self.runhistory.trials.values():
            if r.status == Status.SUCCESS and r.cost and all(math.isfinite(c) for c in r.cost):
                sums[r.config_id] = sums.get(r.config_id, 0) + np.asarray(r.cost)
                counts[r.config_id] = counts.get(r.config_id, 0) + 1
                last[r.config_id] = r.trial_id
        ids = list(sums)
        means = np.array([sums[c] / counts[c] for c in ids]).reshape(len(ids), len(self.scenario.objectives))
        return ids, means, last

    def _recompute_incumbent(self) -> None:
        ids, means, last = self._config_means()
        if not ids:
            self._incumbent = None
            return
        if means.shape[1] == 1:
            best = int(np.argmin(means[:, 0]))
        else:  # several objectives: mean of the objectives scaled to [0, 1] over what was seen
            lo, hi = means.min(axis=0), means.max(axis=0)
            scaled = (means - lo) / np.where(hi > lo, hi - lo, 1.0)
            best = int(np.argmin(scaled.mean(axis=1)))
        config_id = ids[best]
        self._incumbent = Incumbent(config_id, self.runhistory.configs[config_id],
                                    tuple(float(c) for c in means[best]), last[config_id])

    def _update_incumbent(self, info: TrialInfo) -> None:
        previous = self._incumbent
        self._recompute_incumbent()
        if self._incumbent is not None and previous is not None and self._incumbent.config_id == previous.config_id \
                and self._incumbent.cost == previous.cost:
            self._incumbent = previous
