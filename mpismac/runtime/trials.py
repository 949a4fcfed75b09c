"""Where a rank's trials run: one executor factory for every runtime (serial, worker, pSMAC)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..execution import Executor, Limits, make_executor
from ..runhistory.folder import LOGS
from ..scenario import Scenario
from ..target import TargetSpec


def trial_limits(scenario: Scenario) -> Limits:
    return Limits(scenario.trial_walltime_limit, scenario.trial_memory_limit, scenario.trial_threads)


def start_executor(scenario: Scenario, target: TargetSpec | Callable[..., Any], run_dir: Path, rank: int,
                   env: dict[str, str]) -> Executor:
    """The started executor of rank `rank`: its trial process (target imported, limits set, output
    to `logs/worker{rank}.out`), or the caller's process for a target that cannot be imported by
    name. Raises TargetLoadError (a user mistake) when the target does not load."""
    return make_executor(target, scenario.configspace, scenario.objectives, scenario.crash_cost,
                         trial_limits(scenario), run_dir / LOGS / f"worker{rank}.out",
                         scenario.instance_features, env)
