"""Master-worker over an MPI communicator: rank 0 manages, the others evaluate.

Every rank calls `run_mpi` and gets the same result. A user mistake found on any rank ends the
run on every rank with exit status 2 (only rank 0 reports it); a failure inside mpismac aborts
the whole job with `Abort`, so no rank is left polling until the walltime.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any

from mpi4py import MPI

from ..errors import ReportedElsewhere, UserError
from ..scenario import Scenario
from ..target import TargetSpec
from .driver import Driver
from .manager import Manager
from .mpi_transport import MpiTransport, abort_job
from .placement import local_index, trial_variables
from .protocol import Outcome, from_all, root_verdict, share_outcome
from .result import RunResult
from .session import Session
from .signals import StopSignals
from .trials import start_executor
from .worker import MANAGER, Worker

log = logging.getLogger("mpismac")


def run_mpi(scenario: Scenario, target: TargetSpec | Callable[..., Any], comm: MPI.Comm, *,
            fresh: bool = False, show_progress: bool = True) -> RunResult:
    try:
        with StopSignals() as signals:  # from the first moment: an early signal stops the run cleanly
            hosts = from_all(comm, socket.gethostname())
            if comm.Get_rank() == MANAGER:
                return _manage(scenario, comm, signals, fresh, show_progress)
            return _work(scenario, target, comm, signals, hosts)
    except UserError:
        raise
    except BaseException:
        abort_job(comm)
        raise


def _manage(scenario: Scenario, comm: MPI.Comm, signals: StopSignals, fresh: bool,
            show_progress: bool) -> RunResult:
    try:
        session = Session(scenario, fresh=fresh)
    except UserError as exc:
        root_verdict(comm, str(exc))
        raise
    root_verdict(comm, None)  # the folder is ready: workers may open their logs in it
    with session:
        session.begin()
        driver = Driver(scenario, session, ranks=comm.Get_size(), show_progress=show_progress, model_in_ask=False)
        manager = Manager(MpiTransport(comm), list(range(1, comm.Get_size())), driver, signals)
        try:
            stopped_by = manager.run()
        except UserError as exc:
            driver.checkpoint(final=True)
            share_outcome(comm, Outcome(error=str(exc)))
            raise
        except BaseException:
            driver.checkpoint(final=True)  # keep what was done before aborting
            raise
        result = driver.finish(stopped_by)
        log.info("worker utilization in this job %.2f over %d worker(s)", manager.utilization, len(manager.workers))
    share_outcome(comm, Outcome(result=result))
    return result


def _work(scenario: Scenario, target, comm: MPI.Comm, signals: StopSignals, hosts: list[str]) -> RunResult:
    error = root_verdict(comm, None)
    if error is not None:
        raise ReportedElsewhere(error)
    rank = comm.Get_rank()
    env = trial_variables(rank, local_index(hosts, rank), scenario.gpus_per_worker)
    run_dir = scenario.run_dir.resolve()
    Worker(MpiTransport(comm, source=MANAGER),
           lambda cancelled: start_executor(scenario, target, run_dir, rank, env, cancelled=cancelled), signals).run()
    outcome = share_outcome(comm, None)
    if outcome.error is not None:
        raise ReportedElsewhere(outcome.error)
    return outcome.result
