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
from .comm import abort_job
from .driver import Driver
from .manager import Manager
from .placement import local_index, trial_variables
from .result import RunResult
from .session import Session
from .signals import StopSignals
from .worker import run_worker

log = logging.getLogger("mpismac")


def run_mpi(scenario: Scenario, target: TargetSpec | Callable[..., Any], comm: MPI.Comm, *,
            fresh: bool = False, show_progress: bool = True) -> RunResult:
    try:
        with StopSignals() as signals:  # from the first moment: an early signal stops the run cleanly
            hosts = comm.allgather(socket.gethostname())
            if comm.Get_rank() == 0:
                return _manage(scenario, target, comm, signals, fresh, show_progress)
            return _work(scenario, target, comm, signals, hosts)
    except UserError:
        raise
    except BaseException:
        abort_job(comm)
        raise


def _manage(scenario: Scenario, target, comm: MPI.Comm, signals: StopSignals, fresh: bool,
            show_progress: bool) -> RunResult:
    try:
        session = Session(scenario, fresh=fresh)
    except UserError as exc:
        comm.bcast(str(exc), root=0)
        raise
    comm.bcast(None, root=0)  # the folder is ready: workers may open their logs in it
    with session:
        session.begin()
        driver = Driver(scenario, session, ranks=comm.Get_size(), show_progress=show_progress, model_in_ask=False)
        manager = Manager(comm, driver, signals)
        try:
            stopped_by = manager.run()
        except UserError as exc:
            driver.checkpoint(final=True)
            comm.bcast(("error", str(exc)), root=0)
            raise
        except BaseException:
            driver.checkpoint(final=True)  # keep what was done before aborting
            raise
        result = driver.finish(stopped_by)
        n_workers = len(manager.workers)
        log.info("worker utilization in this job %.2f over %d worker(s)", manager.utilization, n_workers)
    comm.bcast(("ok", result), root=0)
    return result


def _work(scenario: Scenario, target, comm: MPI.Comm, signals: StopSignals, hosts: list[str]) -> RunResult:
    error = comm.bcast(None, root=0)
    if error is not None:
        raise ReportedElsewhere(error)
    rank = comm.Get_rank()
    env = trial_variables(rank, local_index(hosts, rank), scenario.gpus_per_worker)
    run_worker(comm, scenario, target, scenario.run_dir.resolve(), signals, env)
    kind, payload = comm.bcast(None, root=0)
    if kind == "error":
        raise ReportedElsewhere(payload)
    return payload
