"""The serial runtime: one process proposes and runs trials one after another, each in the
trial process, checkpointing as it goes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..execution import Executor, Limits, TrialRequest, make_executor
from ..runhistory.folder import LOGS
from ..scenario import Scenario
from ..target import TargetSpec
from ..trial import TrialInfo, TrialValue
from .driver import Driver
from .placement import trial_variables
from .result import RunResult
from .session import Session
from .signals import StopSignals

POLL_S = 0.1


def trial_limits(scenario: Scenario) -> Limits:
    return Limits(scenario.trial_walltime_limit, scenario.trial_memory_limit, scenario.trial_threads)


def run_serial(scenario: Scenario, target: TargetSpec | Callable[..., Any], *, fresh: bool = False,
               show_progress: bool = True) -> RunResult:
    """Run (or resume) the scenario in this process."""
    with Session(scenario, fresh=fresh) as session, StopSignals() as signals:
        driver = Driver(scenario, session, ranks=1, show_progress=show_progress)
        executor = make_executor(target, scenario.configspace, scenario.objectives, scenario.crash_cost,
                                 trial_limits(scenario), session.dir / LOGS / "worker0.out",
                                 scenario.instance_features, trial_variables(0, 0, scenario.gpus_per_worker))
        stopped_by = "n_trials"
        try:
            while driver.can_ask():
                reason = signals.name or driver.limit_reached()
                if reason:
                    stopped_by = reason
                    break
                info = driver.ask()
                driver.started(info, worker=0)
                value = _run_trial(executor, info, driver, signals, session)
                if value is None:  # cut short by a stop: it stays RUNNING and runs again on resume
                    continue
                driver.finished(info, value)
                driver.update_model()
        finally:
            executor.close()
        return driver.finish(signals.name or stopped_by)


def _run_trial(executor: Executor, info: TrialInfo, driver: Driver, signals: StopSignals,
               session: Session) -> TrialValue | None:
    """Run one trial to its end, or cut it short (None) on a stop signal or a run limit."""
    executor.submit(TrialRequest.from_info(info))
    while True:
        session.lock.heartbeat()
        value = executor.poll(POLL_S)
        if value is not None:
            return value
        if signals.requested or driver.limit_reached():
            executor.cancel()
            return None
