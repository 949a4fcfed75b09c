"""Groups of managers: the job's ranks split into G master-worker groups whose managers share
their finished runs as pSMAC ranks do.

One rank 0 absorbs a bounded number of results per second (benchmarks/simulate.py measures
it); beyond that, `mode: groups` gives each group its own manager, model and race. Group g is a
contiguous block of ranks (or, with no `groups` count, the ranks of one node) whose first rank
manages the others. The managers are the optimizers of a pSMAC job among themselves: manager
g writes the part `rank{g}` of the run folder with seed `seed + g` and its share of the budget,
and each run it finishes goes to the other managers in the next exchange round (exchange.py),
while its workers go on. The job ends when every manager's budget is done, or at once for
all when one of them stops (a signal, a limit, an error). A resume may use another number of
groups: the parts are pSMAC's, and its budget split carries over.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from mpi4py import MPI

from ..errors import ReportedElsewhere, UserError
from ..target import TargetSpec
from .mpi_transport import MpiTransport, abort_job
from .placement import trial_variables
from .protocol import DONE, STOPPING, WORKING, Outcome, first_error, from_all, meet, root_verdict, share_outcome
from .result import RunResult
from .signals import StopSignals
from .trials import WorkerPlan
from .worker import MANAGER, Worker

if TYPE_CHECKING:  # a worker rank imports none of these (numpy, the runhistory, the optimizer)
    from ..scenario import Scenario
    from .driver import Driver
    from .exchange import Exchange

log = logging.getLogger("mpismac")


@dataclass(frozen=True)
class Layout:
    """Which group each rank of the job belongs to; a group's first rank is its manager."""

    hosts: tuple[str, ...]  # per rank of the job: its node
    colors: tuple[int, ...]  # per rank of the job: its group

    @classmethod
    def of(cls, hosts: list[str], groups: int | None, source: str = "scenario") -> Layout:
        """`groups` contiguous blocks of ranks as even as can be, or (None) one group per host.
        Raises UserError (naming `source`, the scenario's file) when a group would have no worker."""
        size = len(hosts)
        if groups is None:
            order = list(dict.fromkeys(hosts))
            colors = tuple(order.index(h) for h in hosts)
            how = f"one group per node ({len(order)} nodes)"
        else:
            colors = tuple(r * groups // size for r in range(size))
            how = f"{groups} groups"
        layout = cls(tuple(hosts), colors)
        small = [g for g in range(layout.n_groups) if len(layout.members(g)) < 2]
        if small or (groups is not None and groups > size):
            raise UserError(f"{source}: key 'groups': {how} over {size} ranks leave a group without a worker (each "
                            "group is a manager and at least one worker): start more ranks or set fewer groups")
        return layout

    @property
    def n_groups(self) -> int:
        return max(self.colors) + 1

    @cached_property
    def managers(self) -> tuple[int, ...]:
        """Each group's first rank, in group order."""
        first: dict[int, int] = {}
        for rank, color in enumerate(self.colors):
            first.setdefault(color, rank)
        return tuple(first[g] for g in range(self.n_groups))

    def members(self, group: int) -> list[int]:
        return [r for r, c in enumerate(self.colors) if c == group]

    def is_manager(self, rank: int) -> bool:
        return self.managers[self.colors[rank]] == rank

    def local_index(self, rank: int) -> int:
        """Index of worker `rank` among the workers of every group on its node (GPUs are
        handed out by it, so groups sharing a node never share a GPU)."""
        return sum(1 for r in range(rank) if self.hosts[r] == self.hosts[rank] and not self.is_manager(r))


def layout_of(comm: MPI.Comm, groups: int | None, source: str = "scenario") -> Layout:
    """The job's layout, the same on every rank of `comm` (collective). A UserError (bad
    `groups`) is raised on rank 0 and ReportedElsewhere on the others."""
    hosts = from_all(comm, socket.gethostname())
    try:
        return Layout.of(hosts, groups, source)
    except UserError:
        if comm.Get_rank() != 0:
            raise ReportedElsewhere("reported by rank 0") from None
        raise


@dataclass(frozen=True)
class _Comms:
    group: MPI.Comm  # this rank's group: its manager is rank 0 there
    managers: MPI.Comm | None  # the managers, on a manager rank (pSMAC among them)


def _split(comm: MPI.Comm, layout: Layout) -> _Comms:
    """Collective over `comm`: every rank calls it once, in the same place."""
    rank = comm.Get_rank()
    meet(comm)  # the managers read the scenario first: the workers wait sleeping, not in a busy Split
    group = comm.Split(layout.colors[rank], rank)
    managers = comm.Split(0 if layout.is_manager(rank) else MPI.UNDEFINED, rank)
    return _Comms(group, managers if managers != MPI.COMM_NULL else None)


def run_groups(scenario: Scenario, target: TargetSpec | Callable[..., Any], comm: MPI.Comm, *,
               fresh: bool = False, show_progress: bool = True) -> RunResult:
    """Every rank of `comm` calls this and gets the same result (the Pareto-best over groups)."""
    layout = layout_of(comm, scenario.groups, scenario.source)
    if layout.is_manager(comm.Get_rank()):
        return manage_group(scenario, comm, layout, fresh=fresh, show_progress=show_progress)
    return serve_group(WorkerPlan.of(scenario, target), comm, layout)


def manage_group(scenario: Scenario, comm: MPI.Comm, layout: Layout, *, fresh: bool = False,
                 show_progress: bool = True) -> RunResult:
    """A manager rank's part of `run_groups`."""
    return _in_group(comm, layout, lambda comms, signals: _manage(scenario, comm, comms, layout, signals, fresh,
                                                                  show_progress))


def serve_group(plan: WorkerPlan, comm: MPI.Comm, layout: Layout) -> RunResult:
    """A worker rank's part of `run_groups`, from the plan alone: it serves its group's manager.
    Its trial output goes to `logs/worker{R}.out`, R its rank in the job."""
    return _in_group(comm, layout, lambda comms, signals: _serve(plan, comm, comms.group, layout, signals))


def _in_group(comm: MPI.Comm, layout: Layout, role: Callable[[_Comms, StopSignals], RunResult]) -> RunResult:
    """`role` with this rank's communicators and the stop signals; a failure inside mpismac
    (not a user mistake) aborts the whole job, so no rank is left waiting."""
    comms = _split(comm, layout)
    try:
        with StopSignals() as signals:
            return role(comms, signals)
    except (UserError, ReportedElsewhere):
        raise
    except BaseException:
        abort_job(comm, " (groups)")
        raise
    finally:
        comms.group.Free()
        if comms.managers is not None:
            comms.managers.Free()


def _serve(plan: WorkerPlan, comm: MPI.Comm, group: MPI.Comm, layout: Layout, signals: StopSignals) -> RunResult:
    error = root_verdict(group, None)
    if error is not None:
        raise ReportedElsewhere(error)
    rank = comm.Get_rank()
    env = trial_variables(rank, layout.local_index(rank), plan.gpus_per_worker)
    Worker(MpiTransport(group, source=MANAGER), lambda cancelled: plan.start(rank, env, cancelled), signals).run()
    outcome = share_outcome(group, None)
    if outcome.error is not None:
        raise ReportedElsewhere(outcome.error)
    return outcome.result


class ManagerPeers:
    """A group's manager's end of the exchange with the other managers (the `Peers` the
    Manager talks to): its finished runs out, theirs told to its optimizer, and the stop."""

    def __init__(self, exchange: Exchange, driver: Driver):
        self.exchange = exchange
        self.driver = driver

    def finished(self, trial_id: int) -> None:
        from ..runhistory.shared import SharedRun

        self.exchange.outbox.append(SharedRun.of(self.driver.rh, self.driver.rh.trials[trial_id]))

    def agree(self, wanted: str | None) -> str | None:
        flag = WORKING if wanted is None else DONE if wanted == "n_trials" else STOPPING
        if flag == STOPPING:
            self.exchange.stop_reason = wanted
        done = self.exchange.progress(flag)
        if done is None:
            return None
        for r, runs in done.runs:
            for run in runs:
                self.driver.shared(run, f"rank{r}")  # the manager's helper refits from them
        if done.stopping:
            return wanted if flag == STOPPING else next(reason for reason in done.reasons if reason)
        return "n_trials" if done.all_done else None


def _manage(scenario: Scenario, world: MPI.Comm, comms: _Comms, layout: Layout, signals: StopSignals,
            fresh: bool, show_progress: bool) -> RunResult:
    from ..runhistory.records import ExchangeDone
    from .exchange import Exchange
    from .manager import Manager
    from .psmac import job_result, open_parts, sharing_driver

    group, managers = comms.group, comms.managers
    assert managers is not None
    try:
        session = open_parts(scenario, managers, fresh)
    except (UserError, ReportedElsewhere) as exc:
        root_verdict(group, str(exc))
        raise
    root_verdict(group, None)  # the folder is ready: the workers start their trial processes
    g = managers.Get_rank()
    with session:
        driver = sharing_driver(scenario, managers, session, show_progress, ranks=world.Get_size())
        exchange = Exchange(managers, scenario.psmac.exchange_interval)
        workers = list(range(1, group.Get_size()))
        labels = dict(enumerate(layout.members(layout.colors[world.Get_rank()])))  # group rank -> job rank
        manager = Manager(MpiTransport(group), workers, driver, signals, ManagerPeers(exchange, driver), labels)
        error = None
        try:
            stopped_by = manager.run()
        except UserError as exc:
            error, stopped_by = str(exc), "error"
        finally:
            exchange.close()
        driver.recorder.write(ExchangeDone(exchange.rounds, exchange.seconds, driver.clock.walltime))
        log.info("group %d: %d workers, utilization %.2f; %d exchange rounds, %.3f s in them", g, len(workers),
                 manager.utilization, exchange.rounds, exchange.seconds)
        first = first_error(managers, error)
        if first is not None:
            driver.checkpoint(final=True)
            share_outcome(group, Outcome(error=first))
            raise (UserError if g == 0 else ReportedElsewhere)(first)
        result = job_result(managers, driver.finish(stopped_by))
    share_outcome(group, Outcome(result=result))
    return result
