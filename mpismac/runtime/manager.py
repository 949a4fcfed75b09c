"""The manager (rank 0): answers every idle worker with a trial, tells results as they come,
checkpoints, and stops every worker when the run ends."""

from __future__ import annotations

import logging
import time

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

    @property
    def utilization(self) -> float:
        """Busy share of this job's workers since the manager started (not over earlier jobs)."""
        return self.busy_seconds / max(1e-9, len(self.workers) * (time.monotonic() - self._started))

    def run(self) -> str:
        """Dispatch until the run ends; returns why it ended."""
        backoff = Backoff(0.0001, 0.001, factor=1.5)  # results can come at any moment: keep polling short
        if self.driver.n_finished:  # a resumed run: the model learns what earlier jobs found first
            self.driver.update_model()
        new_results = 0
        while self.stop_reason is None:
            message = self.endpoint.test()
            if message is not None:
                self._handle(message)
                new_results += message.tag == Tag.RESULT
                backoff.reset()
                if new_results >= len(self.workers):  # a round of results: the model must learn them
                    self.driver.update_model()
                    new_results = 0
                continue  # drain everything that arrived before dispatching
            self._check_stop()
            if self.stop_reason:
                break
            self._dispatch()
            self.driver.session.lock.heartbeat()
            # Refit early while every worker is busy (costs no one anything); otherwise once a round
            # of results has come in (above), so that with very short trials the model still learns.
            if new_results and not self.idle:
                self.driver.update_model()
                new_results = 0
                continue
            backoff.sleep()
        self._stop_workers()
        if self.error:
            raise UserError(self.error)
        return self.stop_reason

    def _check_stop(self) -> None:
        """Decide whether the run ends now (the first reason found stands). A reproducible run
        that waits for a result is not done: that result may be in hand, not yet told."""
        if self.stop_reason is None:
            self.stop_reason = (self.error and "error") or self.signals.name or self.driver.limit_reached() or (
                "n_trials" if not self.running and self.driver.budget_spent() else None)

    def _dispatch(self) -> None:
        """Hand a trial to every idle worker, unless the run is stopping: a worker that has been
        sent STOP must never get another trial. Callers run `_check_stop` first."""
        while self.idle and self.stop_reason is None and self.driver.can_ask():
            worker = self.idle.pop(0)
            info = self.driver.ask()
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
