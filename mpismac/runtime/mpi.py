"""Master-worker over an MPI communicator: rank 0 manages, the others evaluate.

Every rank calls `run_mpi` and gets the same result; the command line's worker ranks call
`serve_mpi` with the WorkerPlan rank 0 sent them instead, and import only what a worker uses
(no scenario, runhistory or optimizer: the manager's modules are imported in `_manage`).
A user mistake found on any rank ends the run on every rank with exit status 2 (only rank 0
reports it); a failure inside mpismac aborts the whole job with `Abort`, so no rank is left polling until the walltime.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mpi4py import MPI

from ..errors import ReportedElsewhere, UserError
from ..target import TargetSpec
from .mpi_transport import MpiTransport, abort_job
from .placement import local_index, trial_variables
from .protocol import Outcome, from_all, root_verdict, share_outcome
from .result import RunResult
from .signals import StopSignals
from .trials import WorkerPlan
from .worker import MANAGER, Worker

if TYPE_CHECKING:
    from ..scenario import Scenario

log = logging.getLogger("mpismac")


def run_mpi(scenario: Scenario, target: TargetSpec | Callable[..., Any], comm: MPI.Comm, *,
            fresh: bool = False, show_progress: bool = True) -> RunResult:
    if comm.Get_rank() == MANAGER:
        return _guarded(comm, lambda signals, hosts: _manage(scenario, comm, signals, fresh, show_progress))
    return serve_mpi(WorkerPlan.of(scenario, target), comm)


def serve_mpi(plan: WorkerPlan, comm: MPI.Comm) -> RunResult:
    """A worker rank's part of `run_mpi`, from the plan alone (rank 0 runs `run_mpi`)."""
    return _guarded(comm, lambda signals, hosts: _work(plan, comm, signals, hosts))


def _guarded(comm: MPI.Comm, role: Callable[[StopSignals, list[str]], RunResult]) -> RunResult:
    try:
        with StopSignals() as signals:  # from the first moment: an early signal stops the run cleanly
            hosts = from_all(comm, socket.gethostname())
            return role(signals, hosts)
    except UserError:
        raise
    except BaseException:
        abort_job(comm)
        raise


def _manage(scenario: Scenario, comm: MPI.Comm, signals: StopSignals, fresh: bool,
            show_progress: bool) -> RunResult:
    from .driver import Driver  # the manager's modules (runhistory, h5py, the optimizer): rank 0 only
    from .manager import Manager
    from .session import Session

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


def _work(plan: WorkerPlan, comm: MPI.Comm, signals: StopSignals, hosts: list[str]) -> RunResult:
    error = root_verdict(comm, None)
    if error is not None:
        raise ReportedElsewhere(error)
    rank = comm.Get_rank()
    env = trial_variables(rank, local_index(hosts, rank), plan.gpus_per_worker)
    Worker(MpiTransport(comm, source=MANAGER), lambda cancelled: plan.start(rank, env, cancelled), signals).run()
    outcome = share_outcome(comm, None)
    if outcome.error is not None:
        raise ReportedElsewhere(outcome.error)
    return outcome.result
