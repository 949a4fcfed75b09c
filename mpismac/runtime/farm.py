"""A fixed list of trials run by the workers of a transport, as they come free: what `evaluate`
needs (no optimizer, no run folder). The workers are the ordinary `Worker` loop."""

from __future__ import annotations

import logging
import socket
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import ReportedElsewhere, UserError
from ..execution import Executor, TrialRequest
from ..trial import TrialValue
from .protocol import Ready, Result, Tag
from .signals import StopSignals
from .transport import Backoff, Transport
from .trials import WorkerPlan

log = logging.getLogger("mpismac")
STOP_TIMEOUT_S = 60.0


def run_farm(transport: Transport, workers: Sequence[int], requests: Sequence[TrialRequest], signals: StopSignals,
             on_result: Callable[[TrialRequest, TrialValue], None] | None = None) -> dict[int, TrialValue]:
    """Hand each request to the next idle worker; the outcomes by trial id. Stops early on a
    signal (the trials not run are missing from the result). A worker whose target does not
    load ends the farm with UserError."""
    queue = deque(requests)
    idle: list[int] = []
    running: dict[int, TrialRequest] = {}
    results: dict[int, TrialValue] = {}
    error = None
    backoff = Backoff(0.0001, 0.05, 1.25)
    try:
        while (queue or running) and error is None and not signals.requested:
            message = transport.poll()
            if message is None:
                while idle and queue:
                    worker, request = idle.pop(0), queue.popleft()
                    transport.send(worker, Tag.TRIAL, request)
                    running[worker] = request
                backoff.sleep()
                continue
            backoff.reset()
            if message.tag == Tag.READY:
                ready: Ready = message.payload
                if ready.error:
                    error = f"rank {message.source} on {ready.host}: {ready.error}"
                idle.append(message.source)
            elif message.tag == Tag.RESULT:
                result: Result = message.payload
                request = running.pop(message.source)
                results[result.trial_id] = result.value
                idle.append(message.source)
                if on_result is not None:
                    on_result(request, result.value)
            elif message.tag == Tag.SIGNAL:
                log.info("rank %d got %s: stopping", message.source, message.payload.signal)
                break
    finally:
        _stop(transport, workers)
    if error is not None:
        raise UserError(error)
    return results


def _stop(transport: Transport, workers: Sequence[int]) -> None:
    for worker in workers:
        transport.send(worker, Tag.STOP)
    waiting = set(workers)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    backoff = Backoff(0.0001, 0.01)
    while waiting and time.monotonic() < deadline:
        message = transport.poll()
        if message is None:
            backoff.sleep()
        elif message.tag == Tag.STOPPED:
            waiting.discard(message.source)
    transport.close()


def run_here(executor: Executor, requests: Sequence[TrialRequest], signals: StopSignals,
             on_result: Callable[[TrialRequest, TrialValue], None] | None = None) -> dict[int, TrialValue]:
    """The same, one trial after the other in this process's executor (no MPI, or one rank)."""
    results: dict[int, TrialValue] = {}
    for request in requests:
        if signals.requested:
            break
        executor.submit(request)
        while (value := executor.poll(0.05)) is None:
            if signals.requested:
                executor.cancel()
                return results
        results[request.trial_id] = value
        if on_result is not None:
            on_result(request, value)
    return results


def farm_job(comm: Any, prepare: Callable[[], tuple[WorkerPlan, Sequence[TrialRequest]]],
             on_result: Callable[[TrialRequest, TrialValue], None] | None = None) -> dict[int, TrialValue] | None:
    """Run the trials `prepare` names (called on rank 0 only; a UserError it raises ends every
    rank with that message) on this job's ranks: rank 0 hands them out, the others are workers;
    without MPI, or with one rank, here one after the other. The outcomes on rank 0, None on
    the others."""
    with StopSignals() as signals:
        if comm is None or comm.Get_size() == 1:
            plan, requests = prepare()
            executor = plan.start(0, {})
            try:
                return run_here(executor, requests, signals, on_result)
            finally:
                executor.close()
        from .mpi_transport import MpiTransport
        from .placement import local_index, trial_variables
        from .protocol import from_all, from_root
        from .worker import MANAGER, Worker

        rank = comm.Get_rank()
        hosts = from_all(comm, socket.gethostname())
        prepared, error = None, None
        if rank == MANAGER:
            try:
                prepared = prepare()
            except UserError as exc:
                error = str(exc)
        error, plan = from_root(comm, (error, prepared[0] if prepared else None))
        if error is not None:
            raise UserError(error) if rank == MANAGER else ReportedElsewhere(error)
        if rank != MANAGER:
            env = trial_variables(rank, local_index(hosts, rank), plan.gpus_per_worker)
            Worker(MpiTransport(comm, source=MANAGER), lambda cancelled: plan.start(rank, env, cancelled),
                   signals).run()
            return None
        assert prepared is not None
        return run_farm(MpiTransport(comm), list(range(1, comm.Get_size())), prepared[1], signals, on_result)
