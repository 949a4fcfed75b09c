"""A worker rank: start the trial process, then run whatever trial the manager sends until
it says stop. Between messages it sleeps with backoff, so an idle rank costs almost nothing."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mpi4py import MPI

from ..errors import UserError
from ..execution import Executor, TrialRequest
from ..scenario import Scenario
from ..target import TargetSpec
from .comm import Backoff, Endpoint, fit
from .protocol import Tag, value_to_dict
from .signals import StopSignals
from .trials import start_executor

log = logging.getLogger("mpismac")
TRIAL_POLL_S = 0.05
FAULT_VARIABLE = "MPISMAC_INJECT_FAULT"  # tests only: make a rank fail inside mpismac on purpose


def _fault_point(name: str) -> None:
    if os.environ.get(FAULT_VARIABLE) == name:
        raise RuntimeError(f"fault injected at {name} ({FAULT_VARIABLE})")


def run_worker(comm: MPI.Comm, scenario: Scenario, target: TargetSpec | Callable[..., Any], run_dir: Path,
               signals: StopSignals, env: dict[str, str]) -> None:
    rank = comm.Get_rank()
    endpoint = Endpoint(comm, source=0)
    executor: Executor | None = None
    try:
        executor = start_executor(scenario, target, run_dir, rank, env)
        error = None
    except UserError as exc:
        error = str(exc)
    endpoint.send(0, Tag.READY, {"host": socket.gethostname(), "pid": os.getpid(), "error": error})
    try:
        _serve(endpoint, executor, signals)
    finally:
        if executor is not None:
            executor.close()
    endpoint.send(0, Tag.STOPPED)
    endpoint.close()


def _serve(endpoint: Endpoint, executor: Executor | None, signals: StopSignals) -> None:
    """Run trials until STOP. A stop signal on this rank is passed on to the manager."""
    backoff = Backoff(0.0001, 0.05, factor=1.25)  # ~30 polls from 0.1 to 50 ms: quick replies are seen at once
    signalled = False
    while True:
        if signals.requested and not signalled:
            endpoint.send(0, Tag.SIGNAL, {"signal": signals.name})
            signalled = True
        message = endpoint.test()
        if message is None:
            backoff.sleep()
            continue
        if message.tag == Tag.STOP:
            return
        if message.tag != Tag.TRIAL or executor is None:
            raise RuntimeError(f"worker got an unexpected {message.tag.name} message")
        request = TrialRequest(**message.payload)
        executor.submit(request)
        while (value := executor.poll(TRIAL_POLL_S)) is None:
            if signals.requested and not signalled:
                endpoint.send(0, Tag.SIGNAL, {"signal": signals.name})
                signalled = True
            stop = endpoint.test()
            if stop is not None:
                if stop.tag != Tag.STOP:
                    raise RuntimeError(f"worker got {stop.tag.name} while running a trial")
                executor.cancel()  # cut short: it stays RUNNING in the journal and runs again on resume
                return
        _fault_point("worker-after-trial")
        endpoint.send(0, Tag.RESULT, fit(value_to_dict(request.trial_id, value)))
        backoff.reset()  # the next trial usually comes within a millisecond
