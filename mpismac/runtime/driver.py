"""The bookkeeping every runtime shares: ask, record, tell, checkpoint, limits, progress.

A runtime decides where trials run; the driver decides what runs and writes it down. Nothing
here knows about MPI or processes.
"""

from __future__ import annotations

import logging
import time

from ..optimizer import Incumbent, Optimizer
from ..runhistory.records import IncumbentChanged, TrialEnded, TrialStarted, model_fitted
from ..runhistory.shared import SharedRun
from ..scenario import Scenario
from ..trial import Status, TrialInfo, TrialValue
from .jobtime import job_end_time
from .progress import Progress
from .result import FrontPoint, RunResult
from .session import Session

log = logging.getLogger("mpismac")
GROUP_COMMIT_S = 0.05  # results taken in one sweep wait at most this long for their checkpoint


class Clock:
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


class Driver:
    """Proposes trials, records what happens to them, and says when the run must stop."""

    def __init__(self, scenario: Scenario, session: Session, ranks: int, show_progress: bool = True,
                 model_in_ask: bool = True, rank: int = 0, pairs_seed: int | None = None,
                 progress_total: int | None = None):
        """`model_in_ask=False`: the runtime calls `update_model` itself, off its dispatch path.
        pSMAC: `rank` is recorded with each trial, `pairs_seed` is the job's seed (the ranks race
        on the same pairs), progress counts toward the job's `progress_total`."""
        self.scenario = scenario
        self.session = session
        self.rank = rank
        self.rh = session.state.runhistory
        if session.recorder is None:
            raise RuntimeError("Session.begin() comes before the Driver")
        self.recorder = session.recorder  # every change to the run goes through its `write`
        # Reproducible runs refit inside `ask`, from exactly the results told so far.
        self.optimizer = Optimizer(scenario, self.rh, session.state.optimizer_state,
                                   auto_update=model_in_ask or scenario.reproducible, pairs_seed=pairs_seed,
                                   write=self.recorder.write)
        self.recorder.job(ranks=ranks)
        self.clock = Clock(session.state.walltime_used, session.state.cputime_used)
        self.progress = Progress(progress_total or scenario.n_trials, enabled=show_progress)
        self._since_checkpoint = 0
        self._last_checkpoint = time.monotonic()
        self._in_flight: set[int] = set()  # trials started in this job and not finished (cut short: stay)
        self.n_finished = len(self.rh.finished()) - self.rh.n_shared  # own trials
        self.n_shared_from_job = sum(r.source.startswith("rank") for r in self.rh.trials.values())
        # Reproducible mode: results wait here and are told in trial order, so that proposal k is
        # made from exactly the results of trials < k - lag, whatever the timing or rank count.
        self.lag: int | None = scenario.reproducible_lag if scenario.reproducible else None
        self._waiting: dict[int, tuple[TrialInfo, TrialValue]] = {}
        running = [r.trial_id for r in self.rh.running()]
        self._next_to_tell = min(running, default=self.optimizer.next_trial_id)  # all below are told
        log.info("run %s: %s, facade %s, %d trials, %d rank(s)", session.dir,
                 "resumed" if session.resumed else "started", scenario.facade, scenario.n_trials, ranks)
        self.job_end = job_end_time()
        if self.job_end is not None:
            log.info("the batch job ends at %s: the run stops %.0f s before (job_end_margin)",
                     time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.job_end)), scenario.job_end_margin)

    # -- limits ------------------------------------------------------------------------------------

    def budget_spent(self) -> bool:
        """Every trial of `n_trials` has been started and none waits to run again."""
        return self.optimizer.n_requeued == 0 and self.rh.n_own >= self.scenario.n_trials

    def room(self) -> int:
        """How many new configurations the budget still allows (none while trials cut short
        before wait to run again)."""
        if self.optimizer.n_requeued > 0:
            return 0
        return max(0, self.scenario.n_trials - self.rh.n_own)

    def can_ask(self) -> bool:
        """Whether another trial may be asked now: one cut short before waits to run again, or
        the budget allows a new one and, in reproducible mode, every result it must see is in."""
        if self.optimizer.n_requeued > 0:  # trials cut short before: no new proposal, always run
            return True
        if self.room() == 0:
            return False
        if self.lag is None:
            return True
        needed = self.optimizer.next_trial_id - self.lag
        while self._next_to_tell < needed:
            t = self._next_to_tell
            if t in self._waiting:
                self._tell(*self._waiting.pop(t))
            elif t not in self.rh.trials or self.rh.trials[t].status == Status.RUNNING:
                break  # still running: proposals wait for it
            self._next_to_tell += 1  # told now, or by an earlier job of this run
        return self._next_to_tell >= needed

    def stop_reason(self, signal: str = "") -> str | None:
        """Why the run ends now, or None: the one decision of every runtime. A stop `signal` (its
        name) or a limit comes first; the budget ends the run once every trial of this job is
        done (none is running, and none was cut short)."""
        if signal:
            return signal
        return self.limit_reached() or ("n_trials" if not self._in_flight and self.budget_spent() else None)

    def limit_reached(self) -> str | None:
        """A limit that ends the run now, cutting running trials short (they run again on resume)."""
        s = self.scenario
        if self.clock.walltime >= s.walltime_limit:
            return "walltime_limit"
        if self.clock.cputime >= s.cputime_limit:
            return "cputime_limit"
        if self.job_end is not None and time.time() >= self.job_end - s.job_end_margin:
            return "job_end_time"  # resumable: the next job carries on
        threshold = s.termination_cost_threshold
        if threshold is not None and any(all(c <= t for c, t in zip(inc.cost, threshold, strict=True))
                                         for inc in self.optimizer.incumbents):
            return "termination_cost_threshold"
        return None

    # -- trials ------------------------------------------------------------------------------------

    def ask(self, model_now: bool = True) -> TrialInfo:
        return self.optimizer.ask(model_now)

    def started(self, info: TrialInfo, worker: int) -> None:
        now = time.time()
        self._in_flight.add(info.trial_id)
        self.recorder.write(TrialStarted.of(info, now, worker, self.rank, self.optimizer.counters()))

    def finished(self, info: TrialInfo, value: TrialValue, extra: str = "", commit: bool = True) -> None:
        """Write the result, tell the optimizer (in reproducible mode: when its turn comes),
        checkpoint when due (`commit=False`: the caller calls `commit` after a sweep of
        results, so that results that came together share one fsync; a sweep that goes on
        commits every GROUP_COMMIT_S), show progress."""
        self._in_flight.discard(info.trial_id)
        self.clock.trial_cpu += value.additional_info.get("cpu_time", 0.0)
        self.recorder.write(TrialEnded(info.trial_id, value))
        self.n_finished += 1
        if self.lag is None:
            self._tell(info, value)
        else:
            self._waiting[info.trial_id] = (info, value)
        self._since_checkpoint += 1
        if commit or time.monotonic() - self._last_checkpoint >= GROUP_COMMIT_S:
            self.commit()
        self._show(extra)

    def commit(self) -> None:
        """Checkpoint if `checkpoint_interval` results (or shared runs) came in since the last."""
        if self._since_checkpoint >= self.scenario.checkpoint_interval:
            self.checkpoint()

    def shared(self, run: SharedRun, source: str) -> None:
        """pSMAC: a finished run from another rank (`source` "rank{R}") or job (a run folder):
        recorded, told to the optimizer, counted in the progress."""
        previous = self.optimizer.incumbents
        self.optimizer.tell_shared(run, source)
        self._trajectory(previous)
        if source.startswith("rank"):
            self.n_shared_from_job += 1
        self._since_checkpoint += 1

    def _best(self, extra: str = "") -> tuple[float | None, str]:
        """What the progress line shows: the incumbent's cost, or (several objectives) none
        and the size of the front."""
        front = self.optimizer.incumbents
        if len(self.scenario.objectives) == 1:
            return (front[0].cost[0] if front else None), extra
        return None, "  ".join(t for t in (f"front {len(front)}", extra) if t)

    def _show(self, extra: str = "") -> None:
        self.progress.update(self.n_finished + self.n_shared_from_job, *self._best(extra))

    def _tell(self, info: TrialInfo, value: TrialValue) -> None:
        previous = self.optimizer.incumbents
        self.optimizer.tell(info, value)
        self._trajectory(previous)

    def _trajectory(self, previous: list[Incumbent]) -> None:
        """Write down a change of the incumbent(s): with several objectives the whole front."""
        front = self.optimizer.incumbents
        if not front or front == previous:
            return
        inc = front[0]
        points = tuple((f.config_id, f.cost) for f in front) if len(self.scenario.objectives) > 1 else ()
        self.recorder.write(IncumbentChanged(inc.trial_id, inc.config_id, inc.cost, self.clock.walltime,
                                             self.n_finished, points))

    def heartbeat(self) -> None:
        """Tell other jobs that this one still writes the run folder (cheap; call often)."""
        if self.session.lock is not None:
            self.session.lock.heartbeat()

    def update_model(self) -> bool:
        return self.optimizer.update_model()

    def model_updated(self, started: float) -> None:
        """Write down a refit (from `started` to now) and what it learned from: counters, O(1)."""
        self.recorder.write(model_fitted(self.n_finished, self.rh.n_shared, started))

    def checkpoint(self, final: bool = False) -> None:
        self.recorder.checkpoint(self.optimizer.state(), self.clock.walltime, self.clock.cputime,
                                 force_snapshot=final)
        self._since_checkpoint = 0
        self._last_checkpoint = time.monotonic()

    def finish(self, stopped_by: str) -> RunResult:
        for trial_id in sorted(self._waiting):  # what is still waiting counts for the result
            self._tell(*self._waiting.pop(trial_id))
        self.checkpoint(final=True)
        front = self.optimizer.incumbents
        inc = front[0] if front else None
        self.progress.finish(self.n_finished + self.n_shared_from_job, *self._best(f"stopped by {stopped_by}"))
        if len(front) > 1:
            log.info("run %s stopped by %s after %d trials; Pareto front of %d configurations", self.session.dir,
                     stopped_by, self.n_finished, len(front))
        else:
            log.info("run %s stopped by %s after %d trials; incumbent %s cost %s", self.session.dir, stopped_by,
                     self.n_finished, inc.config if inc else None, inc.cost if inc else None)
        if inc is None and self.scenario.facade == "multi_fidelity" and self.n_finished:
            log.warning("no configuration finished at max_budget (%g) in %d trials, so there is no incumbent: "
                        "raise n_trials, or lower eta or max_budget / min_budget (`report` shows the best cost "
                        "per budget)", self.scenario.max_budget, self.n_finished)
        return RunResult(inc.config if inc else None, inc.cost if inc else None, self.session.dir,
                         self.n_finished, stopped_by, tuple(FrontPoint(f.config, f.cost) for f in front))
