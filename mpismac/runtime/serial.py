"""The serial runtime: one process proposes and runs trials one after another, each in the
trial process, checkpointing as it goes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..errors import StartCancelled
from ..execution import Executor, TrialRequest
from ..scenario import Scenario
from ..target import TargetSpec
from ..trial import TrialInfo, TrialValue
from .driver import Driver
from .placement import trial_variables
from .result import FrontPoint, RunResult
from .session import Session
from .signals import StopSignals
from .trials import start_executor

POLL_S = 0.1
log = logging.getLogger("mpismac")


def run_serial(scenario: Scenario, target: TargetSpec | Callable[..., Any], *, fresh: bool = False,
               show_progress: bool = True) -> RunResult:
    """Run (or resume) the scenario in this process. The target is loaded before the run begins:
    a target that does not load leaves no run behind, nor does a stop signal that comes while it
    is imported (the result then says stopped by that signal: exit status 3)."""
    with Session(scenario, fresh=fresh) as session, StopSignals() as signals:
        try:
            executor = start_executor(scenario, target, session.dir, 0,
                                      trial_variables(0, 0, scenario.gpus_per_worker),
                                      cancelled=lambda: signals.requested)
        except StartCancelled:  # stopped while the target was imported: the run never began
            return _not_begun(session, signals.name)
        try:
            session.begin()
            driver = Driver(scenario, session, ranks=1, show_progress=show_progress)
            while (stopped_by := driver.stop_reason(signals.name)) is None:
                if not driver.can_ask():
                    raise RuntimeError("the serial loop has nothing to run and no reason to stop")
                info = driver.ask()
                driver.started(info, worker=0)
                value = _run_trial(executor, info, driver, signals)
                if value is not None:  # None: cut short by a stop; it runs again on resume
                    driver.finished(info, value)
                    driver.update_model()
        finally:
            executor.close()
        return driver.finish(stopped_by)


def _run_trial(executor: Executor, info: TrialInfo, driver: Driver, signals: StopSignals) -> TrialValue | None:
    """Run one trial to its end, or cut it short (None) on a stop signal or a run limit."""
    try:
        executor.submit(TrialRequest.from_info(info))
    except StartCancelled:  # stopped while the trial process was restarted: the trial runs on resume
        return None
    while True:
        driver.heartbeat()
        value = executor.poll(POLL_S)
        if value is not None:
            return value
        if signals.requested or driver.limit_reached():
            executor.cancel()
            return None


def _not_begun(session: Session, signal_name: str) -> RunResult:
    """The result of a job stopped before its run began: nothing written (a folder this job
    created is removed as the session closes), an earlier run in the folder left as it was."""
    log.info("stopped by %s while the target was being imported: the run in %s did not begin (nothing "
             "was written)", signal_name, session.dir)
    rh = session.state.runhistory
    inc = rh.incumbent
    return RunResult(dict(rh.configs[inc.config_id]) if inc else None, inc.cost if inc else None, session.dir, 0,
                     signal_name, tuple(FrontPoint(dict(rh.configs[c]), cost) for c, cost in rh.front))
