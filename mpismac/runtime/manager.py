"""The manager (rank 0): answers every idle worker with a trial, tells results as they come,
checkpoints, and stops every worker when the run ends.

Nothing slow sits between a result and the worker's next trial. One helper thread does the
slow work, a job at a time: proposals of new configurations made ahead (the optimizer keeps a
few prepared; each accounts for the trials in flight and the proposals before it) and model
refits (from a copy of the data; proposals go on from the current model meanwhile). This
thread only answers workers, tells results, checkpoints and hands the helper its next job.
Reproducible runs do neither: proposal k must see exactly the results before k − lag, so
`ask` refits and proposes on the spot.
"""

from __future__ import annotations

import logging
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor

from mpi4py import MPI

from ..errors import UserError
from ..execution import TrialRequest
from ..trial import TrialInfo
from .comm import Backoff, Endpoint
from .driver import Driver
from .protocol import Tag, value_from_dict
from .signals import StopSignals

log = logging.getLogger("mpismac")
STOP_TIMEOUT_S = 30.0
MAX_PREPARED = 32  # proposals kept ready at most (made several at a time: cheap)
SWITCH_INTERVAL_S = 0.0005  # Python's thread switch interval while managing (restored after)


class Manager:
    def __init__(self, comm: MPI.Comm, driver: Driver, signals: StopSignals):
        self.comm = comm
        self.driver = driver
        self.signals = signals
        self.workers = list(range(1, comm.Get_size()))
        self.endpoint = Endpoint(comm)
        self.idle: list[int] = []
        self.running: dict[int, TrialInfo] = {}
        self.stop_reason: str | None = None
        self.error: str | None = None
        self.busy_seconds = 0.0
        self._started = time.monotonic()
        self.ahead = not driver.scenario.reproducible  # slow work in the helper thread
        self.n_prepared = max(1, min(len(self.workers), MAX_PREPARED))  # kept ready: a wave of results
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="mpismac-model") if self.ahead else None
        self._job: Future | None = None
        self._job_kind = ""
        self._job_started = 0.0

    @property
    def utilization(self) -> float:
        """Busy share of this job's workers since the manager started (not over earlier jobs)."""
        return self.busy_seconds / max(1e-9, len(self.workers) * (time.monotonic() - self._started))

    def run(self) -> str:
        """Dispatch until the run ends; returns why it ended."""
        backoff = Backoff(0.0001, 0.001, factor=1.5)  # results can come at any moment: keep polling short
        if self.driver.n_finished:  # a resumed run: the model learns what earlier jobs found first
            self.driver.update_model()
        switch = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL_S)  # the helper thread holds the GIL 0.5 ms at most, not 5 ms
        try:
            while self.stop_reason is None:
                message = self.endpoint.test()
                if message is not None:
                    self._handle(message)
                    backoff.reset()
                    self._helper()  # cheap; with instant trials messages never stop coming
                    continue  # drain everything that arrived before dispatching
                self._check_stop()
                if self.stop_reason:
                    break
                self._dispatch()
                self.driver.session.lock.heartbeat()
                if self._helper():
                    continue  # a job finished or started: look at the messages again first
                backoff.sleep()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
            sys.setswitchinterval(switch)
        self._stop_workers()
        if self.error:
            raise UserError(self.error)
        return self.stop_reason

    def _helper(self) -> bool:
        """Take the helper thread's finished job and give it the next: a proposal while fewer
        than `n_prepared` are ready from the current model (a fresh one replaces one made from
        an older model; the first model first), otherwise a refit when results came in since
        the last one began; the two take turns when both are due, except that a queue less
        than half full is refilled before the next refit (many workers, short trials: the model
        is refit less often, and no worker waits). True if it did either."""
        if not self.ahead:
            return False
        if self._job is not None:
            if not self._job.done():
                return False
            self._finish_job()
            return True
        opt = self.driver.optimizer
        ready, fresh = opt.n_prepared, opt.n_fresh  # the stale ones give way to fresh ones
        count = min(self.n_prepared - fresh, self.driver.room(ahead=fresh))
        want_proposal = count > 0 and not opt.needs_first_model
        low = ready < max(1, self.n_prepared // 2)  # workers drain the queue: refill it first
        refit = None if (want_proposal and (low or self._job_kind == "refit")) else opt.refit_job()
        if refit is not None:
            self._start_job("refit", refit)
        elif want_proposal:
            self._start_job("proposal", opt.propose_job(keep_at_most=self.n_prepared, count=count))
        else:
            return False
        return True

    def _start_job(self, kind: str, job) -> None:
        self._job_kind, self._job_started = kind, time.time()
        self._job = self._pool.submit(job)

    def _finish_job(self) -> None:
        done = self._job.result()  # a failure in the thread raises here: the job aborts
        done()  # the model or the proposal, put in place in this thread
        self._job = None
        if self._job_kind == "refit":
            self.driver.model_updated(self._job_started)

    def _ask(self) -> TrialInfo:
        """The next trial now. Without a prepared proposal the helper's proposal in the making is
        waited for (never two at once); at the very start the first model is fit first."""
        opt = self.driver.optimizer
        if self.ahead and self._job is not None and (
                (self._job_kind == "proposal" and opt.n_prepared == 0) or opt.needs_first_model):
            self._job.result()
            self._finish_job()
        if self.ahead and opt.needs_first_model:
            self.driver.update_model()
        return self.driver.ask()

    def _check_stop(self) -> None:
        """Decide whether the run ends now (the first reason found stands). A reproducible run
        that waits for a result is not done: that result may be in hand, not yet told."""
        if self.stop_reason is None:
            self.stop_reason = (self.error and "error") or self.driver.stop_reason(self.signals.name)

    def _dispatch(self) -> None:
        """Hand a trial to every idle worker, unless the run is stopping: a worker that has been
        sent STOP must never get another trial. Callers run `_check_stop` first."""
        while self.idle and self.stop_reason is None and self.driver.can_ask():
            worker = self.idle.pop(0)
            info = self._ask()
            self.driver.started(info, worker)
            self.endpoint.send(worker, Tag.TRIAL, TrialRequest.from_info(info).to_dict())
            self.running[worker] = info

    def _handle(self, message) -> None:
        src, tag, payload = message.source, message.tag, message.payload
        if tag == Tag.READY:
            if payload["error"]:
                self.error = self.error or f"rank {src} on {payload['host']}: {payload['error']}"
            else:
                self.idle.append(src)
        elif tag == Tag.RESULT:
            info = self.running.pop(src)
            value = value_from_dict(payload)
            self.busy_seconds += value.end_time - value.start_time
            self.idle.append(src)
            self._check_stop()  # never start a trial past a limit
            self._dispatch()  # answer the worker first; telling and the checkpoint's fsync come after
            self.driver.finished(info, value, f"{len(self.running)}/{len(self.workers)} busy")
        elif tag == Tag.SIGNAL:
            log.info("rank %d got %s: stopping the run", src, payload["signal"])
            self.stop_reason = self.stop_reason or payload["signal"]
        elif tag == Tag.STOPPED:
            raise RuntimeError(f"rank {src} stopped on its own")
        else:
            raise RuntimeError(f"manager got an unexpected {tag.name} message from rank {src}")

    def _stop_workers(self) -> None:
        """STOP every worker and wait for each to finish; results that crossed the STOP are kept."""
        for worker in self.workers:
            self.endpoint.send(worker, Tag.STOP)
        waiting = set(self.workers)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        backoff = Backoff(0.0001, 0.01)
        while waiting:
            message = self.endpoint.test()
            if message is None:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"ranks {sorted(waiting)} did not stop within {STOP_TIMEOUT_S:g} s")
                backoff.sleep()
                continue
            if message.tag == Tag.STOPPED:
                waiting.discard(message.source)
            elif message.tag == Tag.RESULT:
                self._handle(message)
        self.endpoint.close()
