"""Where a rank's trials run: one executor factory for every runtime (serial, worker, pSMAC)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..execution import Executor, Limits, TrialSetup, make_executor
from ..execution.executor import START_TIMEOUT_S
from ..runhistory.folder import LOGS
from ..scenario import Scenario
from ..target import TargetSpec


def trial_setup(scenario: Scenario) -> TrialSetup:
    return TrialSetup(scenario.configspace, scenario.objectives, scenario.crash_costs, scenario.instance_features)


def trial_limits(scenario: Scenario) -> Limits:
    return Limits(scenario.trial_walltime_limit, scenario.trial_memory_limit, scenario.trial_threads)


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
    return make_executor(target, trial_setup(scenario), trial_limits(scenario), run_dir / LOGS / f"worker{rank}.out",
                         env, start_timeout=start_timeout, cancelled=cancelled)
