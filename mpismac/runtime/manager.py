"""The manager (rank 0): answers every idle worker with a trial, tells results as they come,
checkpoints, and stops every worker when the run ends.

Nothing slow sits between a result and the worker's next trial. The optimizer hands out its
slow work as jobs (proposals made ahead, each aware of the trials in flight; model refits from
a copy of the data) and one helper thread runs them, one at a time. This thread only answers
workers, tells results, checkpoints and installs what the helper computed. Reproducible runs
have no helper: proposal k must see exactly the results before k − lag, so `ask` refits and
proposes on the spot.

The manager talks to its workers through a `Transport` only: over MPI in a job, in-process in
unit tests and simulations.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from ..errors import UserError
from ..execution import TrialRequest
from ..optimizer.optimizer import BackgroundJob
from ..trial import TrialInfo
from .driver import Driver
from .protocol import Cap, Ready, Result, Signalled, Tag
from .signals import StopSignals
from .transport import Backoff, Message, Transport

log = logging.getLogger("mpismac")
STOP_TIMEOUT_S = 30.0
MAX_PREPARED = 32  # proposals kept ready at most (made several at a time: cheap)
SWITCH_INTERVAL_S = 0.0005  # Python's thread switch interval while managing (restored after)
POLL_BACKOFF = (0.0001, 0.001, 1.5)  # results can come at any moment: keep polling short
RATE_WINDOW_S = 2.0  # the result rate is counted over this many seconds
WAIT_SHARE = 0.1  # a worker waits for a model proposal at most this share of its turnaround,
WAIT_FLOOR_S = 0.05  # or this long: with trials that short, a random one would waste the trial budget


class Helper:
    """Runs the optimizer's background jobs in one thread, a job at a time."""

    def __init__(self, driver: Driver, keep: int):
        self.driver = driver
        self.keep = keep  # proposals kept ready
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="mpismac-model")
        self._job: BackgroundJob | None = None
        self._future: Future | None = None
        self._started = 0.0
        self.refit_s = 0.0  # how long the last refit took
        self.propose_s = 0.0  # how long the last proposal job took
        self.cycle_s = 0.0  # a worker's turnaround, trial sent -> result in (moving average)
        self._results: deque[float] = deque()  # when the results of the last RATE_WINDOW_S came

    def result(self, cycle_s: float) -> None:
        """A result came in, `cycle_s` after its trial was sent (the rate at which proposals
        are used up, and how long a worker may wait for one)."""
        self.cycle_s = cycle_s if self.cycle_s == 0 else 0.9 * self.cycle_s + 0.1 * cycle_s
        now = time.monotonic()
        self._results.append(now)
        while self._results[0] < now - RATE_WINDOW_S:
            self._results.popleft()

    @property
    def hurried(self) -> bool:
        """Whether the prepared proposals would run out during a refit, at the current rate."""
        return self.refit_s * len(self._results) / RATE_WINDOW_S > self.driver.optimizer.n_prepared

    @property
    def making_proposals(self) -> bool:
        return self._job is not None and self._job.kind == "proposal"

    def due_soon(self) -> bool:
        """Whether the job in the making is worth waiting for when no proposal is ready, rather
        than handing out a random configuration: proposals due within WAIT_SHARE of a worker's
        turnaround (at least WAIT_FLOOR_S); a refit, which brings no proposal by itself, only
        if refits are short (WAIT_FLOOR_S: a small model, whose proposals follow at once)."""
        if self._job is None:
            return False
        if self.cycle_s == 0:  # no result yet (the first wave): the turnaround is unknown
            return True
        if self._job.kind == "refit":
            return self.refit_s <= WAIT_FLOOR_S
        left = self.propose_s - (time.time() - self._started)
        return left <= max(WAIT_FLOOR_S, WAIT_SHARE * self.cycle_s)

    def step(self) -> bool:
        """Install a finished job, or start the next one; True if it did either."""
        if self._future is not None:
            if not self._future.done():
                return False
            self.finish()
            return True
        job = self.driver.optimizer.next_job(self.driver.room(), self.keep, hurry=self.hurried)
        if job is None:
            return False
        self._job, self._started = job, time.time()
        self._future = self._pool.submit(job.compute)
        return True

    def finish(self) -> None:
        """Wait for the job in the making, if any, and install it in this thread."""
        if self._future is None or self._job is None:
            return
        job, computed = self._job, self._future.result()  # a failure in the thread raises here: the job aborts
        self._job = self._future = None
        fits = self.driver.optimizer.n_fits
        job.install(computed)
        if job.kind == "refit":
            self.refit_s = time.time() - self._started
        else:
            self.propose_s = time.time() - self._started
        if self.driver.optimizer.n_fits > fits:  # a model was fit (facade random has none)
            self.driver.model_updated(self._started)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class Peers(Protocol):
    """The other managers of a job of groups: where this manager's finished runs go, and how the
    managers agree on when the job ends."""

    def finished(self, trial_id: int) -> None:
        """This manager's trial `trial_id` finished (recorded): share it."""

    def agree(self, wanted: str | None) -> str | None:
        """Take part in the sharing (tells the runs the others shared) with why this manager
        wants to stop (None: it works on; "n_trials": its budget is done); returns the reason
        the job stops for once every manager knows it, else None. Cheap: call often."""


class Manager:
    def __init__(self, transport: Transport, workers: list[int], driver: Driver, signals: StopSignals,
                 peers: Peers | None = None, labels: dict[int, int] | None = None):
        """`workers`: their addresses on the transport; `labels`: the worker number recorded for
        each (groups: its rank in the job), by default its address."""
        self.transport = transport
        self.labels = labels or {}
        self.driver = driver
        self.signals = signals
        self.peers = peers
        self.workers = workers
        self.idle: list[int] = []
        self.running: dict[int, TrialInfo] = {}
        self.sent: dict[int, float] = {}  # when each worker was sent its trial
        self.wanted: str | None = None  # why this manager wants the run to end (with peers: not yet agreed)
        self.stop_reason: str | None = None
        self.error: str | None = None
        self.busy_seconds = 0.0
        self._started = time.monotonic()
        keep = max(1, min(len(workers), MAX_PREPARED))  # kept ready: a wave of results
        self.helper = None if driver.scenario.reproducible else Helper(driver, keep)

    @property
    def utilization(self) -> float:
        """Busy share of this job's workers since the manager started (not over earlier jobs)."""
        return self.busy_seconds / max(1e-9, len(self.workers) * (time.monotonic() - self._started))

    def run(self) -> str:
        """Dispatch until the run ends; returns why it ended."""
        backoff = Backoff(*POLL_BACKOFF)
        if self.driver.n_finished:  # a resumed run: the model learns what earlier jobs found first
            self.driver.update_model()
        switch = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL_S)  # the helper thread holds the GIL 0.5 ms at most, not 5 ms
        try:
            while self.stop_reason is None:
                message = self.transport.poll()
                if message is not None:
                    self._handle(message)
                    backoff.reset()
                    self._step_helper()  # cheap; with instant trials messages never stop coming
                    continue  # drain everything that arrived before dispatching
                self.driver.commit()  # the results drained share one checkpoint (one fsync)
                self._check_stop()
                if self.stop_reason:
                    break
                self._dispatch()
                self.driver.heartbeat()
                if self._step_helper():
                    continue  # a job finished or started: look at the messages again first
                backoff.sleep()
        finally:
            if self.helper is not None:
                self.helper.close()
            sys.setswitchinterval(switch)
        self._stop_workers()
        fallbacks = self.driver.optimizer.n_fallbacks
        if fallbacks:
            log.warning("%d trial(s) of this job ran a random configuration because no proposal of the model was "
                        "ready: the manager was at its capacity (see docs/scale.md: fewer workers per manager, "
                        "mode groups)", fallbacks)
        if self.error:
            raise UserError(self.error)
        return self.stop_reason

    def _step_helper(self) -> bool:
        return self.helper is not None and self.helper.step()

    def _ask(self) -> TrialInfo:
        """The next trial now. Without a prepared proposal the helper's job in the making (a
        short refit, then the proposals after it) is waited for if it is due soon (`due_soon`);
        else a random configuration goes out: the model never runs on the dispatch path, and a
        manager past its capacity degrades to random search with its workers busy. At the very
        start the first model is fit first."""
        opt = self.driver.optimizer
        if self.helper is None:
            return self.driver.ask()
        if opt.n_prepared == 0 and not opt.needs_first_model:
            self.helper.step()  # install what it finished,
            self.helper.step()  # or start its next job: proposals come first while none is ready
            for _ in range(2):  # a short refit, then the proposals that follow it
                if opt.n_prepared or not self.helper.due_soon():
                    break
                refit = not self.helper.making_proposals
                self.helper.finish()
                if refit:
                    self.helper.step()
        if opt.needs_first_model:
            self.helper.finish()  # a first refit in the making may be it
            if opt.needs_first_model:
                self.driver.update_model()
        return self.driver.ask(model_now=False)

    def _check_stop(self) -> None:
        """Decide whether the run ends now (the first reason found stands). With peers, this
        manager's reason is put to them, and the run ends on the reason they agree on."""
        if self.stop_reason is not None:
            return
        if self.wanted is None or self.wanted == "n_trials":  # a limit or signal may still come after the budget
            self.wanted = (self.error and "error") or self.driver.stop_reason(self.signals.name)
        self.stop_reason = self.wanted if self.peers is None else self.peers.agree(self.wanted)

    def _dispatch(self) -> None:
        """Hand a trial to every idle worker, unless the run is stopping: a worker that has been
        sent STOP must never get another trial. Callers run `_check_stop` first."""
        while self.idle and self.stop_reason is None and self.wanted is None and self.driver.can_ask():
            worker = self.idle.pop(0)
            info = self._ask()
            self.driver.started(info, self.labels.get(worker, worker))
            self.transport.send(worker, Tag.TRIAL, TrialRequest.from_info(info))
            self.sent[worker] = time.monotonic()
            self.running[worker] = info

    def _handle(self, message: Message) -> None:
        src, tag, payload = message.source, message.tag, message.payload
        if tag == Tag.READY:
            ready: Ready = payload
            if ready.error:
                self.error = self.error or f"rank {self.labels.get(src, src)} on {ready.host}: {ready.error}"
            else:
                self.idle.append(src)
        elif tag == Tag.RESULT:
            result: Result = payload
            info = self.running.pop(src)
            if info.trial_id != result.trial_id:
                raise RuntimeError(f"rank {src} answered trial {result.trial_id}, it was sent {info.trial_id}")
            self.busy_seconds += result.value.end_time - result.value.start_time
            if self.helper is not None:
                self.helper.result(time.monotonic() - self.sent[src])
            self.idle.append(src)
            self._check_stop()  # never start a trial past a limit
            self._dispatch()  # answer the worker first; telling and the checkpoint's fsync come after
            self.driver.finished(info, result.value, f"{len(self.running)}/{len(self.workers)} busy", commit=False)
            self._recap(info.config_id)
            if self.peers is not None:
                self.peers.finished(info.trial_id)
        elif tag == Tag.SIGNAL:
            signalled: Signalled = payload
            log.info("rank %d got %s: stopping the run", src, signalled.signal)
            self.stop_reason = self.stop_reason or signalled.signal
        elif tag == Tag.STOPPED:
            raise RuntimeError(f"rank {src} stopped on its own")
        else:
            raise RuntimeError(f"manager got an unexpected {tag.name} message from rank {src}")

    def _recap(self, config_id: int) -> None:
        """Adaptive capping: lower the caps of this configuration's trials still running."""
        recaps = self.driver.optimizer.recaps(config_id)
        if recaps:
            where = {info.trial_id: worker for worker, info in self.running.items()}
            for trial_id, seconds in recaps:
                if trial_id in where:
                    self.transport.send(where[trial_id], Tag.CAP, Cap(trial_id, seconds))

    def _stop_workers(self) -> None:
        """STOP every worker and wait for each to finish; results that crossed the STOP are kept."""
        for worker in self.workers:
            self.transport.send(worker, Tag.STOP)
        waiting = set(self.workers)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        backoff = Backoff(0.0001, 0.01)
        while waiting:
            message = self.transport.poll()
            if message is None:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"ranks {sorted(waiting)} did not stop within {STOP_TIMEOUT_S:g} s")
                backoff.sleep()
                continue
            if message.tag == Tag.STOPPED:
                waiting.discard(message.source)
            elif message.tag == Tag.RESULT:
                self._handle(message)
        self.transport.close()
