"""The serial runtime: one process proposes and runs trials one after another, each in the
trial process, checkpointing as it goes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ..execution import Limits, TrialRequest, make_executor
from ..optimizer import Optimizer
from ..runhistory.folder import LOGS
from ..runhistory.runhistory import TrajectoryEntry
from ..scenario import Scenario
from ..target import TargetSpec
from ..trial import TrialInfo
from .progress import Progress
from .result import RunResult
from .session import Session
from .signals import StopSignals

log = logging.getLogger("mpismac")
POLL_S = 0.1


class _Clock:
    """Wall and CPU time used by the run, carried over from earlier jobs."""

    def __init__(self, walltime_used: float, cputime_used: float):
        self._wall0, self._cpu0 = walltime_used, cputime_used
        self._start = time.monotonic()
        self._proc0 = time.process_time()
        self.trial_cpu = 0.0

    @property
    def walltime(self) -> float:
        return self._wall0 + time.monotonic() - self._start

    @property
    def cputime(self) -> float:
        return self._cpu0 + time.process_time() - self._proc0 + self.trial_cpu


def _stop_reason(scenario: Scenario, optimizer: Optimizer, clock: _Clock, signals: StopSignals) -> str | None:
    if signals.requested:
        return signals.name
    if clock.walltime >= scenario.walltime_limit:
        return "walltime_limit"
    if clock.cputime >= scenario.cputime_limit:
        return "cputime_limit"
    threshold = scenario.termination_cost_threshold
    inc = optimizer.incumbent
    if threshold is not None and inc is not None and all(c <= t for c, t in zip(inc.cost, threshold, strict=True)):
        return "termination_cost_threshold"
    if len(optimizer.runhistory.trials) >= scenario.n_trials and optimizer.n_requeued == 0:
        return "n_trials"
    return None


def run_serial(scenario: Scenario, target: TargetSpec | Callable[..., Any], *, fresh: bool = False,
               show_progress: bool = True, snapshot_interval: float = 30.0) -> RunResult:
    """Run (or resume) the scenario in this process."""
    with Session(scenario, fresh=fresh, snapshot_interval=snapshot_interval) as session, StopSignals() as signals:
        rh = session.state.runhistory
        optimizer = Optimizer(scenario, rh, session.state.optimizer_state)
        recorder = session.recorder
        recorder.job(ranks=1)
        clock = _Clock(session.state.walltime_used, session.state.cputime_used)
        limits = Limits(scenario.trial_walltime_limit, scenario.trial_memory_limit, scenario.trial_threads)
        executor = make_executor(target, scenario.configspace, scenario.objectives, scenario.crash_cost, limits,
                                 session.dir / LOGS / "worker0.out", scenario.instance_features)
        progress = Progress(scenario.n_trials, enabled=show_progress)
        since_checkpoint = 0
        stopped_by = None
        log.info("run %s: %s, facade %s, %d trials", session.dir, "resumed" if session.resumed else "started",
                 scenario.facade, scenario.n_trials)
        try:
            while (stopped_by := _stop_reason(scenario, optimizer, clock, signals)) is None:
                info = optimizer.ask()
                rh.start_trial(info, time.time())
                recorder.start(info, time.time(), 0, 0, optimizer.state())
                value = _run_trial(executor, info, scenario, clock, signals, session)
                if value is None:  # cut short by a stop: it stays RUNNING and runs again on resume
                    continue
                clock.trial_cpu += value.additional_info.get("cpu_time", 0.0)
                previous = optimizer.incumbent
                optimizer.tell(info, value)
                recorder.end(info.trial_id, value)
                optimizer.update_model()
                inc = optimizer.incumbent
                if inc is not None and inc != previous:
                    entry = TrajectoryEntry(inc.trial_id, inc.config_id, inc.cost, clock.walltime)
                    rh.add_trajectory(entry)
                    recorder.incumbent(entry)
                since_checkpoint += 1
                if since_checkpoint >= scenario.checkpoint_interval:
                    recorder.checkpoint(optimizer.state(), clock.walltime, clock.cputime)
                    since_checkpoint = 0
                progress.update(len(rh.finished()), inc.cost[0] if inc else None)
        finally:
            executor.close()
            recorder.checkpoint(optimizer.state(), clock.walltime, clock.cputime, force_snapshot=True)
        inc = optimizer.incumbent
        progress.finish(len(rh.finished()), inc.cost[0] if inc else None, f"stopped by {stopped_by}")
        log.info("run %s stopped by %s after %d trials; incumbent %s cost %s", session.dir, stopped_by,
                 len(rh.finished()), inc.config if inc else None, inc.cost if inc else None)
        return RunResult(inc.config if inc else None, inc.cost if inc else None, session.dir,
                         len(rh.finished()), stopped_by)


def _run_trial(executor, info: TrialInfo, scenario: Scenario, clock: _Clock, signals: StopSignals,
               session: Session):
    """Run one trial to its end, or cut it short (None) on a stop signal or the run's walltime."""
    executor.submit(TrialRequest.from_info(info))
    while True:
        session.lock.heartbeat()
        value = executor.poll(POLL_S)
        if value is not None:
            return value
        if signals.requested or clock.walltime >= scenario.walltime_limit:
            executor.cancel()
            return None
