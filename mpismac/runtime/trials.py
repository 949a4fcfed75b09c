"""Where a rank's trials run: one executor factory for every runtime (serial, worker, pSMAC)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..execution import Executor, Limits, RuntimeRule, TrialSetup, make_executor
from ..execution.executor import START_TIMEOUT_S
from ..runhistory.layout import LOGS
from ..target import TargetSpec

if TYPE_CHECKING:  # a worker rank gets a WorkerPlan and never loads the scenario (ConfigSpace, numpy, scipy)
    from ..scenario import Scenario


def trial_setup(scenario: Scenario, *, as_json: bool = False) -> TrialSetup:
    """What the trial process needs of `scenario`; `as_json`: the space as its JSON text."""
    space: Any = scenario.configspace
    if as_json:
        from ..space import configspace_to_json

        space = configspace_to_json(space)
    cutoff = scenario.cutoff
    rule = None if cutoff is None else RuntimeRule(cutoff, scenario.par_factor, scenario.runtime_measure)
    return TrialSetup(space, scenario.objectives, scenario.crash_costs, scenario.instance_features, rule)


WALL_GUARD = (10.0, 10.0)  # CPU-time cutoff c and no trial_walltime_limit: a trial's wall limit is 10 c + 10 s


def trial_limits(scenario: Scenario) -> Limits:
    """The per-trial limits. A run measured in CPU time gets a wall limit too, so a program that
    waits without computing (a lock, a pipe) cannot hold its worker forever."""
    walltime = scenario.trial_walltime_limit
    if walltime is None and scenario.cutoff is not None and scenario.runtime_measure == "cpu":
        walltime = WALL_GUARD[0] * scenario.cutoff + WALL_GUARD[1]
    return Limits(walltime, scenario.trial_memory_limit, scenario.trial_threads)


def start_executor(scenario: Scenario, target: TargetSpec | Callable[..., Any], run_dir: Path, rank: int,
                   env: dict[str, str], *, start_timeout: float = START_TIMEOUT_S,
                   cancelled: Callable[[], bool] | None = None) -> Executor:
    """The started executor of rank `rank`: its trial process (target imported, limits set, output
    to `logs/worker{rank}.out`), or the caller's process for a target that cannot be imported by
    name. Raises TargetLoadError (a user mistake) when the target does not load or is not imported
    within `start_timeout` s, and StartCancelled (not a user mistake: end as for a stop signal) when
    `cancelled()` turns true while it is imported; pass the stop flag (`lambda: signals.requested`)
    so that a stop is not held up by a slow import (also when the trial process is restarted for a
    later trial: then `submit` raises StartCancelled)."""
    return start_trials(target, trial_setup(scenario), trial_limits(scenario), run_dir, rank, env,
                        start_timeout=start_timeout, cancelled=cancelled)


def start_trials(target: TargetSpec | Callable[..., Any], setup: TrialSetup, limits: Limits, run_dir: Path,
                 rank: int, env: dict[str, str], *, start_timeout: float = START_TIMEOUT_S,
                 cancelled: Callable[[], bool] | None = None) -> Executor:
    """`start_executor` from the scenario's parts (what a worker rank gets in its WorkerPlan)."""
    return make_executor(target, setup, limits, run_dir / LOGS / f"worker{rank}.out", env,
                         start_timeout=start_timeout, cancelled=cancelled)


@dataclass(frozen=True)
class WorkerPlan:
    """What a master-worker worker rank needs of the scenario, in plain values: rank 0 reads the
    scenario and sends this, so a worker rank imports neither ConfigSpace (and scipy with it),
    numpy, h5py nor the optimizer."""

    target: TargetSpec | Callable[..., Any]
    setup: TrialSetup
    limits: Limits
    run_dir: Path  # as the scenario gives it; each rank resolves it in its own working directory
    gpus_per_worker: int = 0

    @classmethod
    def of(cls, scenario: Scenario, target: TargetSpec | Callable[..., Any], *, as_json: bool = False) -> WorkerPlan:
        return cls(target, trial_setup(scenario, as_json=as_json), trial_limits(scenario), scenario.run_dir,
                   scenario.gpus_per_worker)

    def start(self, rank: int, env: dict[str, str], cancelled: Callable[[], bool] | None = None) -> Executor:
        return start_trials(self.target, self.setup, self.limits, self.run_dir.resolve(), rank, env,
                            cancelled=cancelled)
