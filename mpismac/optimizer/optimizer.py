"""Ask/tell optimizer. `ask` proposes a trial (also while others are pending), `tell` takes its
result, `update_model` is the separate, possibly slow, step a runtime can schedule off its
dispatch path. Proposal k draws from streams derived from (seed, k), and the state needed to
carry on after a restart is a small JSON dict."""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import numpy as np
from ConfigSpace import Configuration

from ..runhistory import RunHistory
from ..runhistory.records import ConfigAdded, Record, SharedRunAdded, TrialEnded, TrialStarted
from ..runhistory.shared import SharedRun
from ..runhistory.state import RunState
from ..scenario import Scenario, budget_levels
from ..space import config_values
from ..trial import Status, TrialInfo, TrialValue
from .hyperband import Ladder
from .initial_design import initial_design, initial_design_size
from .intensifier import Intensifier
from .local_model import LOCAL
from .observations import Observations
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

    def training_set(self, runhistory: RunHistory, observed: Observations) -> Any:
        """A refit in three steps, so that it can run in another thread: the data (None: nothing
        to fit) from the costs told so far, `observed`, taken in the thread that tells results, ..."""

    def fit(self, data: Any) -> Any:
        """... a fitted model from it (any thread, reading nothing `propose` changes), ..."""

    def install(self, fitted: Any) -> None:
        """... and putting it in place (here again)."""


@dataclass(frozen=True)
class BackgroundJob:
    """Slow work the optimizer hands its runtime, to keep it off the dispatch path: `compute`
    in any thread, then `install` its return value in the thread that asks and tells."""

    kind: str  # "proposal" or "refit"
    compute: Callable[[], Any]
    install: Callable[[Any], None]

    def run(self) -> None:
        """Both steps here and now."""
        self.install(self.compute())


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
        n_init = initial_design_size(len(self._cs), scenario.n_trials, scenario.initial_design_size)
        self._initial = initial_design(self._cs, n_init, scenario.seed, bool(scenario.use_default_config))
        self._default_first = bool(scenario.use_default_config)

    def propose(self, index: int, pending_rows: np.ndarray, count: int = 1) -> list[tuple[dict[str, Any], str]]:
        return [self._one(i) for i in range(index, index + count)]

    def _one(self, index: int) -> tuple[dict[str, Any], str]:
        if index < len(self._initial):
            return self._initial[index], "default" if index == 0 and self._default_first else "sobol"
        self._cs.seed(derived_int(self._seed, "random", index))
        return config_values(self._cs.sample_configuration()), "random"

    def training_set(self, runhistory: RunHistory, observed: Observations) -> None:
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


def _algorithm_configuration(scenario: Scenario) -> Proposer:
    if len(scenario.objectives) > 1:
        return _forest(scenario)
    from .instance_model import InstanceBO

    return InstanceBO(scenario)


def _multi_fidelity(scenario: Scenario) -> Proposer:
    from .multi_fidelity import MultiFidelityBO

    return MultiFidelityBO(scenario)


PROPOSERS = {"random": RandomSearch, "hpo": _forest, "blackbox": _gaussian_process, "multi_fidelity": _multi_fidelity,
             "algorithm_configuration": _algorithm_configuration}
REFIT_GROWTH = 0.1  # a refit comes before proposals once the data has grown by this share (see next_job)
FALLBACK = "fallback"  # the origin of a random configuration handed out when no proposal was ready


class Optimizer:
    """SMAC-style optimizer over a scenario. Pass a runhistory and state to carry on a run.

    Threads: every method is called from one thread (the one that asks and tells), except the
    `compute` of a `BackgroundJob`, which may run in one other thread at a time, concurrently
    with `ask`, `tell` and the other jobs' `install`: it reads only what it was handed when the
    job was made, and the proposer's fitted model, which only `install` replaces.
    """

    def __init__(self, scenario: Scenario, runhistory: RunHistory | None = None,
                 state: dict[str, Any] | None = None, auto_update: bool = True, pairs_seed: int | None = None,
                 write: Callable[[Record], None] | None = None):
        """`auto_update`: refit the model inside `ask` when results came in since the last fit.
        A runtime that schedules `update_model` itself (off its dispatch path) turns it off.
        `pairs_seed`: the seed of the racing pairs, when not the scenario's (pSMAC). `write`:
        where the optimizer's changes to the run go (configurations, shared runs, the trials of
        the plain ask/tell API) — the run's one writer; by default they are applied to
        `runhistory` directly. The optimizer reads the runhistory and never changes it itself."""
        if not isinstance(scenario, Scenario):
            raise TypeError(f"Optimizer needs a Scenario, got {type(scenario).__name__} (Scenario.from_yaml(path) "
                            "reads a file)")
        self.scenario = scenario
        self.auto_update = auto_update
        self._n_told = 0
        self._n_modeled = -1
        self.n_fits = 0  # models installed
        self.n_fallbacks = 0  # new configurations sampled at random because no proposal was ready
        self._sampler: Any = None  # a copy of the space that draws them
        self.runhistory = runhistory or RunHistory(scenario.configspace, scenario.objectives)
        self._observed = Observations(len(scenario.objectives))  # the costs told, per configuration (and rung)
        self._ladder: Ladder | None = None
        if scenario.facade == "multi_fidelity":
            assert scenario.min_budget is not None and scenario.max_budget is not None  # the scenario checks
            self._ladder = Ladder(budget_levels(scenario.min_budget, scenario.max_budget, scenario.eta),
                                  scenario.eta, scenario.n_brackets, scenario.seed,
                                  learned=scenario.brackets == "learned")
        for r in sorted(self.runhistory.trials.values(), key=lambda r: r.trial_id):  # a resumed run:
            rung = self._rung_of(r.budget)  # every trial started, every finished one told
            if self._ladder is not None and rung is not None:
                self._ladder.start(r.config_id, rung, own=not r.shared)
            if r.status != Status.RUNNING and r.cost:
                self._observed.add(self._key(r.config_id, rung), r.cost)
                if self._ladder is not None and rung is not None:
                    self._ladder.tell(r.config_id, rung, r.cost[0], r.status == Status.SUCCESS)
        self._write = write or RunState(self.runhistory).apply
        self._proposer: Proposer = PROPOSERS[scenario.facade](scenario)
        if self._ladder is not None and scenario.brackets == "learned":
            self._proposer.rung_trust = self._ladder.trust  # type: ignore[attr-defined]
        state = state or {}
        known = max(self.runhistory.trials, default=-1) + 1
        self._n_proposals = int(state.get("n_proposals", 0))
        self._next_trial_id = max(int(state.get("next_trial_id", 0)), known)
        self._intensifier = Intensifier(scenario, self.runhistory, state.get("intensifier"), pairs_seed)
        self._pending: dict[int, TrialInfo] = {}
        self._prepared: list[_Prepared] = []  # see `propose_job`
        self._last_job = ""
        # Trials that were running when the last job stopped run again first, under their own ids.
        self._requeue = deque(r.trial_id for r in self.runhistory.running())

    # -- ask/tell -----------------------------------------------------------------------------------

    def ask(self, model_now: bool = True) -> TrialInfo:
        """The next trial to run: a trial the race needs, else a new configuration from the
        facade. Trials asked and not told yet count as pending. `model_now=False` (a manager
        whose helper thread makes the proposals): when none is prepared and a model exists,
        the new configuration is a random sample (origin "fallback", counted in `n_fallbacks`)
        instead of a proposal computed now, so that no worker waits for the model."""
        if self._requeue:
            info = self._with_checkpoint(self.runhistory.info(self._requeue.popleft()))
            pair = self._intensifier.pair_of(info.instance, info.seed)
            info = dataclasses.replace(info, cutoff=self._cutoff(info.config_id, pair))
        else:
            budget = self.scenario.max_budget
            step = self._intensifier.next_trial()
            if step is None and self._ladder is not None:
                step, budget = self._climb(model_now)
            config_id, pair = step or self._new_challenger(model_now)
            instance, seed = self._intensifier.pairs[pair]
            trial_id = self._next_trial_id
            self._next_trial_id += 1
            info = self._with_checkpoint(TrialInfo(trial_id, config_id, self.runhistory.configs[config_id],
                                                   instance, seed, budget, self.runhistory.origins[config_id],
                                                   cutoff=self._cutoff(config_id, pair)))
            if budget == self.scenario.max_budget:
                self._intensifier.mark_started(config_id, pair)
        self._pending[info.trial_id] = info
        return info

    def _cutoff(self, config_id: int, pair: int | None) -> float | None:
        """run_objective runtime: the seconds a run may take, the cutoff or less (adaptive capping)."""
        cutoff = self.scenario.cutoff
        if cutoff is None or pair is None:
            return cutoff
        return self._intensifier.cap(config_id, pair, cutoff)

    def _climb(self, model_now: bool) -> tuple[tuple[int, int], float | None]:
        """Multi-fidelity: a promotion, else a new configuration in a drawn bracket; its
        (config, pair) and budget. The top rung's trials are the intensifier's."""
        assert self._ladder is not None
        ladder = self._ladder
        promoted = ladder.promotion()
        if promoted is not None:
            config_id, rung = promoted.config_id, promoted.rung
        else:
            values, origin = self._new_values(model_now)
            config_id = self._config(values, origin)
            if ladder.knows(config_id):  # proposed again (pSMAC ranks' local steps can meet): a sample
                origin = "random"
                config_id = self._config(self._random_sample(), origin)
            # a local step refines the best results at the budget the model aims at: a smaller
            # budget's noise would hide what it gains, so it runs at max_budget
            rung = ladder.top if origin == LOCAL else ladder.new_rung()
            ran = [r for r in range(ladder.top + 1) if (config_id, r) in ladder.started]
            if ran:  # and that too (a small space): the budget above the largest it ran at
                if ran[-1] == ladder.top:
                    return self._new_challenger_at(config_id), self.scenario.max_budget
                rung = ran[-1] + 1
        ladder.start(config_id, rung)
        if rung == ladder.top:
            return self._intensifier.add_challenger(config_id), self.scenario.max_budget
        return (config_id, 0), ladder.budgets[rung]

    def _with_checkpoint(self, info: TrialInfo) -> TrialInfo:
        """Multi-fidelity: the trial with the largest budget its configuration finished at
        before, on the same pair (the lower rungs run on the first), for a target that
        continues from its own checkpoint."""
        if self._ladder is None or (info.instance, info.seed) != self._intensifier.pairs[0]:
            return info
        previous = self._ladder.reached.get(info.config_id)
        if previous is None or info.budget is None or previous >= info.budget:
            return info
        return dataclasses.replace(info, previous_budget=previous)

    def _rung_of(self, budget: float | None) -> int | None:
        return self._ladder.rung_of(budget) if self._ladder is not None else None

    def _key(self, config_id: int, rung: int | None) -> Hashable:
        """What the model's observations are kept per: the configuration, and with several
        budgets its rung too."""
        return config_id if self._ladder is None else (config_id, self._ladder.top if rung is None else rung)

    def _new_challenger(self, model_now: bool) -> tuple[int, int]:
        return self._new_challenger_at(self._config(*self._new_values(model_now)))

    def _new_challenger_at(self, config_id: int) -> tuple[int, int]:
        """A configuration enters the race (a known one, proposed again in a small space: its
        next pair)."""
        if self._intensifier.knows(config_id):
            started = self._intensifier.started
            pair = next((k for k in range(self._intensifier.max_calls) if (config_id, k) not in started), 0)
            return config_id, pair
        return self._intensifier.add_challenger(config_id)

    def _new_values(self, model_now: bool) -> tuple[dict[str, Any], str]:
        """A new configuration: a prepared proposal, a fallback sample, or one proposed now."""
        if self._prepared:
            newest = max(p.model for p in self._prepared)  # the first made from the newest model
            values, origin, _, _ = self._prepared.pop(next(i for i, p in enumerate(self._prepared)
                                                           if p.model == newest))
        elif not model_now and self.n_fits > 0:
            values, origin = self._random_sample(), FALLBACK
            self.n_fallbacks += 1
        else:
            if self.auto_update:
                self.update_model()
            index = self._n_proposals
            values, origin = self._proposer.propose(index, self._pending_rows())[0]
            self._n_proposals += 1
        return values, origin

    def _random_sample(self) -> dict[str, Any]:
        """A uniform random configuration, from a stream of the trial id (about a millisecond)."""
        if self._sampler is None:
            self._sampler = copy.deepcopy(self.scenario.configspace)
        self._sampler.seed(derived_int(self.scenario.seed, FALLBACK, self._next_trial_id))
        return config_values(self._sampler.sample_configuration())

    def _config(self, values: dict[str, Any], origin: str) -> int:
        """The id of a configuration, written down first if it is new to the run."""
        config_id = self.runhistory.config_id(values)
        if config_id is None:
            config_id = len(self.runhistory.configs)
            self._write(ConfigAdded(config_id, values, origin))
        return config_id

    def tell(self, info: TrialInfo, value: TrialValue | float | Sequence[float]) -> None:
        """Take the result of a trial `ask` returned: a TrialValue, or just its cost(s) for a
        successful trial. A successful cost of NaN or -inf is recorded as a crash (as a target's
        result is; +inf is the worst cost, like the default crash_cost). Each trial is told once."""
        if not isinstance(info, TrialInfo):
            raise TypeError(f"tell takes the TrialInfo that ask returned, got {type(info).__name__}")
        if info.trial_id not in self._pending:
            told = info.trial_id in self.runhistory.trials and self.runhistory.trials[info.trial_id].cost
            raise ValueError(f"trial {info.trial_id} was told already" if told
                             else f"trial {info.trial_id} was not asked (or was told already)")
        value = self._checked(value)
        record = self.runhistory.trials.get(info.trial_id)
        if record is None:  # the plain ask/tell API: nobody else wrote the trial down
            self._write(TrialStarted.of(info, value.start_time or time.time()))
        if record is None or record.status == Status.RUNNING:
            self._write(TrialEnded(info.trial_id, value))
        self._pending.pop(info.trial_id)
        self._n_told += 1
        self._take(info, value)

    def _take(self, info: TrialInfo, value: TrialValue) -> None:
        """A result, own or shared, to the model's data and to the rung or race it belongs to."""
        rung = self._rung_of(info.budget)
        if value.cost:
            self._observed.add(self._key(info.config_id, rung), value.cost)
        cost = value.cost if value.cost else self.scenario.crash_costs
        if self._ladder is not None and rung is not None:
            self._ladder.tell(info.config_id, rung, cost[0], value.ok)
            if rung < self._ladder.top:
                return
        self._intensifier.tell(info.config_id, self._intensifier.pair_of(info.instance, info.seed), cost,
                               info.trial_id, capped=value.status == Status.CAPPED)

    def recaps(self, config_id: int) -> list[tuple[int, float]]:
        """Adaptive capping, counting the runs in flight: after a result of `config_id`, its
        trials still running may have less time to win (its finished runs used some), or none
        (it has lost its race). (trial id, new cap) of each whose cap drops; they are told the
        cap only once."""
        if not self.scenario.capping:
            return []
        out = []
        for info in self._pending.values():
            if info.config_id != config_id or info.cutoff is None:
                continue
            racing = config_id in self._intensifier.races or config_id in self._intensifier.incumbents
            pair = self._intensifier.pair_of(info.instance, info.seed)
            cap = self._cutoff(config_id, pair) if racing else 0.0
            if cap is not None and cap < info.cutoff - 1e-9:
                out.append((info.trial_id, cap))
        for trial_id, cap in out:
            self._pending[trial_id] = dataclasses.replace(self._pending[trial_id], cutoff=cap)
        return out

    def _checked(self, value: TrialValue | float | Sequence[float]) -> TrialValue:
        """A TrialValue with one cost per objective; a successful NaN or -inf cost as a crash."""
        n = len(self.scenario.objectives)
        if not isinstance(value, TrialValue):
            try:
                costs = (float(value),) if np.isscalar(value) else tuple(float(v) for v in value)  # type: ignore
            except (TypeError, ValueError):
                raise TypeError(f"a trial's result is a TrialValue or its cost(s) as numbers, got {value!r}") from None
            now = time.time()
            value = TrialValue(costs, Status.SUCCESS, now, now)
        if len(value.cost) != n:
            raise ValueError(f"expected {n} cost(s), one per objective ({', '.join(self.scenario.objectives)}), "
                             f"got {len(value.cost)}")
        if value.status == Status.SUCCESS and any(math.isnan(c) or c == -math.inf for c in value.cost):
            info = {**value.additional_info, "error": f"the cost cannot be used: {list(value.cost)}"}
            value = TrialValue(self.scenario.crash_costs, Status.CRASHED, value.start_time, value.end_time, info)
        return value

    def tell_shared(self, run: SharedRun, source: str) -> TrialInfo:
        """Take a finished run made elsewhere (pSMAC: `source` is another rank or job). It gets a
        trial id of this run, feeds the model, and the race when it ran on one of this run's
        pairs."""
        config_id = self._config(run.values, run.origin)
        info = TrialInfo(self._next_trial_id, config_id, run.values, run.instance, run.seed, run.budget,
                         self.runhistory.origins[config_id])
        self._write(SharedRunAdded(info.trial_id, config_id, run.instance, run.seed, run.budget, run.value, source,
                                   run.trial, run.rank, time.time()))
        self._next_trial_id += 1
        self._n_told += 1
        rung = self._rung_of(run.budget)
        if self._ladder is not None and rung is not None:
            self._ladder.start(config_id, rung, own=False)
        pair = self._intensifier.pair_of(run.instance, run.seed)
        if pair is not None and (self._ladder is None or rung == self._ladder.top):
            self._intensifier.add_shared(config_id, pair)
        self._take(info, run.value)
        return info

    def _pending_rows(self, leaving: Sequence[_Prepared] = ()) -> np.ndarray:
        """Vectors of the trials pending and of the proposals prepared (but those `leaving`):
        what a new proposal keeps away from."""
        rows = [self.runhistory.vector(p.config_id) for p in self._pending.values()]
        rows += [p.row for p in self._prepared if not any(p is q for q in leaving)]
        return np.array(rows).reshape(len(rows), len(self.scenario.configspace))

    def next_job(self, room: int, keep: int, hurry: bool = False) -> BackgroundJob | None:
        """The slow work to do next off the dispatch path, None when there is none. A proposal
        job while fewer than `keep` proposals are ready from the current model (fresh ones
        replace stale ones; never past `room`, the new configurations the budget still allows;
        never before the first model), otherwise a refit when results came in since the last
        one began. The two take turns when both are due, except that a queue less than half
        full is refilled first (many workers, short trials: the model is refit less often, and
        no worker waits), and so is a queue that would run dry during a refit (`hurry`: the
        runtime measures that), unless the model is overdue: the results told since its data
        was taken are at least `keep` and a REFIT_GROWTH share of that data."""
        fresh = self.n_fresh
        count = min(keep - fresh, room - fresh)
        want_proposal = count > 0 and not self.needs_first_model
        low = len(self._prepared) < max(1, keep // 2)
        overdue = self._n_told - self._n_modeled >= max(keep, REFIT_GROWTH * self._n_modeled)
        job = None
        if not (want_proposal and (low or hurry or self._last_job == "refit")) or overdue:
            job = self.refit_job()
        if job is None and want_proposal:
            job = self.propose_job(keep_at_most=keep, count=count)
        if job is not None:
            self._last_job = job.kind
        return job

    def propose_job(self, keep_at_most: int | None = None, count: int = 1) -> BackgroundJob:
        """The next `count` new configurations, held for the next `ask`s that need one. They
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

        def compute() -> list[_Prepared]:
            return [_Prepared(values, origin, Configuration(self.scenario.configspace, values=values).get_array(),
                              model) for values, origin in self._proposer.propose(index, rows, count)]

        def install(made: list[_Prepared]) -> None:  # list work only
            self._prepared = [p for p in self._prepared if not any(p is q for q in leaving)] + made

        return BackgroundJob("proposal", compute, install)

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
        job.run()
        return self.n_fits > fits

    def refit_job(self) -> BackgroundJob | None:
        """A refit from the results told so far (its data taken now), None when nothing was told
        since the last one. Proposals go on from the current model while it computes."""
        if self._n_modeled == self._n_told:
            return None
        told, data = self._n_told, self._proposer.training_set(self.runhistory, self._observed)
        self._n_modeled = told  # in the making: not started again for these results

        def compute() -> Any:
            return self._proposer.fit(data) if data is not None else None

        def install(fitted: Any) -> None:
            if fitted is not None:
                self._proposer.install(fitted)
                self.n_fits += 1

        return BackgroundJob("refit", compute, install)

    # -- views ---------------------------------------------------------------------------------------

    @property
    def incumbent(self) -> Incumbent | None:
        """The incumbent; with several objectives the first of the front (`incumbents`)."""
        front = self.incumbents
        return front[0] if front else None

    @property
    def incumbents(self) -> list[Incumbent]:
        """Every incumbent: one for one objective, the Pareto front for several, in the order
        of their costs (the first objective first)."""
        out = []
        for config_id in self._intensifier.incumbents:
            cost = self._intensifier.incumbent_cost(config_id)
            if cost is not None:
                out.append(Incumbent(config_id, self.runhistory.configs[config_id], cost,
                                     self._intensifier.changed_by or 0))
        return sorted(out, key=lambda inc: (inc.cost, inc.config_id))

    @property
    def needs_first_model(self) -> bool:
        """Results are in but no model was fit from them yet: proposals now would be blind."""
        return self.n_fits == 0 and self._n_told >= 2

    @property
    def pending(self) -> list[TrialInfo]:
        """The trials asked and not told yet."""
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
