"""The manager (rank 0): answers every idle worker with a trial, tells results as they come,
checkpoints, and stops every worker when the run ends.

Nothing slow sits between a result and the worker's next trial: proposals are made ahead
(`ready`, asked while no message waits, so each is pending-aware of those before it and of
every trial in flight) and the model is refit in a thread, from a copy of the data, while
proposals go on from the current model. Reproducible runs do neither: there, proposal k must
see exactly the results before k − lag, so `ask` refits and proposes on the spot.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

from mpi4py import MPI

from ..errors import UserError
from ..execution import TrialRequest
from ..runhistory.replay import model_record
from ..trial import TrialInfo
from .comm import Backoff, Endpoint
from .driver import Driver
from .protocol import Tag, value_from_dict
from .signals import StopSignals

log = logging.getLogger("mpismac")
STOP_TIMEOUT_S = 30.0


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
        self.ahead = not driver.scenario.reproducible  # proposals ahead and refits in a thread
        self.ready: deque[TrialInfo] = deque()
        self.n_ready = 2 if len(self.workers) >= 4 else 1
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="mpismac-refit") if self.ahead else None
        self._refit: Future | None = None
        self._refit_started = 0.0

    @property
    def utilization(self) -> float:
        """Busy share of this job's workers since the manager started (not over earlier jobs)."""
        return self.busy_seconds / max(1e-9, len(self.workers) * (time.monotonic() - self._started))

    def run(self) -> str:
        """Dispatch until the run ends; returns why it ended."""
        backoff = Backoff(0.0001, 0.001, factor=1.5)  # results can come at any moment: keep polling short
        if self.driver.n_finished:  # a resumed run: the model learns what earlier jobs found first
            self.driver.update_model()
        try:
            while self.stop_reason is None:
                message = self.endpoint.test()
                if message is not None:
                    self._handle(message)
                    backoff.reset()
                    self._install_refit() or self._start_refit()  # cheap; with instant trials messages never stop
                    continue  # drain everything that arrived before dispatching
                self._check_stop()
                if self.stop_reason:
                    break
                self._dispatch()
                self.driver.session.lock.heartbeat()
                if self._install_refit() or self._start_refit() or self._ask_ahead():
                    continue  # one step of work done: look at the messages again first
                backoff.sleep()
        finally:
            self._withdraw_ready()
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
        self._stop_workers()
        if self.error:
            raise UserError(self.error)
        return self.stop_reason

    def _ask(self) -> TrialInfo:
        if self.ahead and self.driver.optimizer.needs_first_model:  # once, at the start: wait for it
            if self._refit is not None:
                self._refit.result()
                self._install_refit()
            self.driver.update_model()
        return self.driver.ask()

    def _ask_ahead(self) -> bool:
        """Make the next proposal before a worker needs it."""
        if not self.ahead or len(self.ready) >= self.n_ready or not self.driver.can_ask(ahead=len(self.ready)):
            return False
        self.ready.append(self._ask())
        return True

    def _withdraw_ready(self) -> None:
        """Take back the proposals made ahead (the newest first): at the end, and when a new
        model is in place (they are asked again from it)."""
        while self.ready:
            self.driver.optimizer.withdraw(self.ready.pop())

    def _start_refit(self) -> bool:
        """Refit in the thread when results came in since the last refit began."""
        if not self.ahead or self._refit is not None:
            return False
        job = self.driver.optimizer.refit_job()
        if job is None:
            return False
        self._refit_started = time.time()
        self._refit = self._pool.submit(job)
        return True

    def _install_refit(self) -> bool:
        if self._refit is None or not self._refit.done():
            return False
        self._refit.result()()  # a failure in the thread raises here: the job aborts
        self._refit = None
        self._withdraw_ready()
        rh = self.driver.rh
        self.driver.recorder.note(model_record(len(rh.finished()) - rh.n_shared, rh.n_shared, self._refit_started))
        return True

    def _check_stop(self) -> None:
        """Decide whether the run ends now (the first reason found stands). A reproducible run
        that waits for a result is not done: that result may be in hand, not yet told."""
        if self.stop_reason is None:
            self.stop_reason = (self.error and "error") or self.signals.name or self.driver.limit_reached() or (
                "n_trials" if not self.running and self.driver.budget_spent() else None)

    def _dispatch(self) -> None:
        """Hand a trial to every idle worker, unless the run is stopping: a worker that has been
        sent STOP must never get another trial. Callers run `_check_stop` first."""
        while self.idle and self.stop_reason is None and (self.ready or self.driver.can_ask()):
            worker = self.idle.pop(0)
            info = self.ready.popleft() if self.ready else self._ask()
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
