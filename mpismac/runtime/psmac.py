"""pSMAC: every rank an optimizer of its own, sharing its finished runs with the others.

Rank R optimizes with seed `seed + R` (its own model, race and trial process) and writes its
own part of the run folder (`journal.rank{R}.jsonl`, `runhistory.rank{R}.h5`). Each run it
finishes goes out in its next exchange round (exchange.py); the runs of the other ranks, and
of other jobs' run folders (`psmac.input_dirs`), are told to its optimizer as shared runs: they
feed its model and its race, are marked shared in its part, and are never sent on. The model
is refit as soon as shared runs arrive, while the rank's own trial runs in its child process.

Budget: `n_trials` is the job's total. Each rank keeps the trials its part holds; what is left
(after those, and the finished trials of ranks a resumed job no longer has) is split evenly.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from mpi4py import MPI

from ..errors import ReportedElsewhere, StartCancelled, UserError
from ..execution import Executor, TrialRequest
from ..pareto import merged_front
from ..runhistory.folder import load_run, parts
from ..runhistory.records import ExchangeDone
from ..runhistory.shared import ForeignRuns, SharedRun, own_finished
from ..scenario import Scenario
from ..space import config_key, configspace_to_json
from ..target import TargetSpec
from ..trial import TrialInfo
from .driver import Driver
from .exchange import Exchange, Round
from .mpi_transport import abort_job
from .placement import local_index, trial_variables
from .protocol import DONE, STOPPING, WORKING, first_error, from_all, from_root, root_verdict
from .result import RunResult
from .session import Session
from .signals import StopSignals
from .trials import start_executor

log = logging.getLogger("mpismac")
POLL_S = 0.01  # the longest a rank waits on its trial before looking at the exchange again


def split_budget(total: int, held: list[int], gone: int) -> list[int]:
    """Trials per rank: each keeps the `held` trials of its part; what is left of `total` after
    those and the `gone` finished trials of ranks no longer there is split evenly."""
    left = max(0, total - sum(held) - gone)
    n = len(held)
    return [h + left // n + (1 if r < left % n else 0) for r, h in enumerate(held)]


def run_psmac(scenario: Scenario, target: TargetSpec | Callable[..., Any], comm: MPI.Comm, *,
              fresh: bool = False, show_progress: bool = True) -> RunResult:
    """Every rank of `comm` calls this and gets the same result (the best incumbent of all)."""
    try:
        with StopSignals() as signals:
            session = open_parts(scenario, comm, fresh)
            with session:
                return _optimize(scenario, target, comm, session, signals, show_progress)
    except UserError:
        raise
    except BaseException:
        abort_job(comm, " (psmac)")
        raise


def open_parts(scenario: Scenario, comm: MPI.Comm, fresh: bool) -> Session:
    """Rank 0 locks the folder, checks the scenario and writes it down first; then every rank
    opens its part."""
    rank = comm.Get_rank()
    session, error = None, None
    if rank == 0:
        try:
            session = Session(scenario, fresh=fresh, rank=0, part="rank0", primary=True)
            session.begin()
        except UserError as exc:
            error = str(exc)
    error = root_verdict(comm, error)
    if error is not None:
        raise (UserError if rank == 0 else ReportedElsewhere)(error)
    if rank != 0:
        try:
            session = Session(scenario, rank=rank, part=f"rank{rank}", primary=False)
            session.begin()
        except UserError as exc:
            error = f"rank {rank}: {exc}"
    first = first_error(comm, error)
    if first is not None:
        if session is not None:
            session.close()
        raise (UserError if error == first else ReportedElsewhere)(first)
    assert session is not None
    return session


def sharing_driver(scenario: Scenario, comm: MPI.Comm, session: Session, show_progress: bool,
                   ranks: int) -> Driver:
    """The Driver of optimizer R = `comm.Get_rank()` of the optimizers in `comm` (collective):
    seed `seed + R`, its share of the budget, and the runs the folder's other parts hold told as
    shared runs. `ranks`: the job's ranks, as recorded."""
    rank, size = comm.Get_rank(), comm.Get_size()
    others = _other_parts(session, rank)  # read once: the runs other ranks (or earlier ranks) left here
    gone = sum(len(own_finished(rh)) for r, rh in others.items() if r >= size)
    budgets = split_budget(scenario.n_trials, from_all(comm, session.state.runhistory.n_own), from_root(comm, gone))
    mine = scenario.replace(seed=scenario.seed + rank, n_trials=budgets[rank])
    driver = Driver(mine, session, ranks=ranks, show_progress=show_progress and rank == 0, model_in_ask=False,
                    rank=rank, pairs_seed=scenario.seed, progress_total=scenario.n_trials)
    for r, rh in sorted(others.items()):
        for record in own_finished(rh):
            if (f"rank{r}", record.trial_id) not in driver.rh.shared_keys:
                driver.shared(SharedRun.of(rh, record), f"rank{r}")
    log.info("%s %d of %d: seed %d, %d of the job's %d trials (%d held already)",
             "psmac rank" if scenario.mode == "psmac" else "group", rank, size, mine.seed, budgets[rank],
             scenario.n_trials, driver.rh.n_own)
    return driver


def _optimize(scenario: Scenario, target, comm: MPI.Comm, session: Session, signals: StopSignals,
              show_progress: bool) -> RunResult:
    rank, size = comm.Get_rank(), comm.Get_size()
    driver = sharing_driver(scenario, comm, session, show_progress, ranks=size)
    hosts = from_all(comm, socket.gethostname())
    executor: Executor | None = None
    try:
        executor = start_executor(scenario, target, session.dir, rank,
                                  trial_variables(rank, local_index(hosts, rank, first=0), scenario.gpus_per_worker),
                                  cancelled=lambda: signals.requested)
    except StartCancelled:  # a stop signal while a slow target was imported: this rank stops with the job
        pass
    foreign = ForeignRuns(scenario.psmac.input_dirs, session.dir, configspace_to_json(scenario.configspace),
                          scenario.objectives) if scenario.psmac.input_dirs else None
    loop = _Loop(driver, executor, Exchange(comm, scenario.psmac.exchange_interval), foreign,
                 scenario.psmac.input_interval, signals)
    loop.refit()  # a resumed job (or one with runs of earlier ranks) starts from a model
    try:
        stopped_by = loop.run()
    finally:
        if executor is not None:
            executor.close()
        loop.exchange.close()
    walltime = driver.clock.walltime
    driver.recorder.write(ExchangeDone(loop.exchange.rounds, loop.exchange.seconds, walltime))
    result = driver.finish(stopped_by)
    log.info("psmac rank %d: %d exchange rounds, %.3f s in them (%.2f%% of %.1f s)", rank, loop.exchange.rounds,
             loop.exchange.seconds, 100 * loop.exchange.seconds / max(walltime, 1e-9), walltime)
    return job_result(comm, result)


def _other_parts(session: Session, rank: int) -> dict[int, Any]:
    """The runhistories of the other ranks' parts in this folder (earlier jobs' included)."""
    out = {}
    for part in parts(session.dir):
        r = int(part[4:])
        if r != rank:
            out[r] = load_run(session.dir, part).state.runhistory
    return out


def job_result(comm: MPI.Comm, mine: RunResult) -> RunResult:
    """The same result on every rank: the best incumbent over the ranks (several objectives:
    the Pareto front of every rank's front), every rank's trials."""
    results = from_all(comm, mine)
    n_finished = sum(r.n_finished for r in results)
    points = {config_key(p.config): p for r in results for p in r.front}
    if points and len(next(iter(points.values())).costs) > 1:
        front = [points[key] for key, _ in merged_front([(k, p.costs) for k, p in points.items()])]
        return RunResult(front[0].config, front[0].costs, mine.path, n_finished, mine.stopped_by, tuple(front))
    found = [(sum(r.costs) / len(r.costs), i) for i, r in enumerate(results) if r.costs]
    best = results[min(found)[1]] if found else None
    return RunResult(best.incumbent if best else None, best.costs if best else None, mine.path,
                     n_finished, mine.stopped_by, best.front if best else ())


class _Loop:
    """One rank's loop: its own trial in the child process, exchange rounds, other jobs' runs."""

    def __init__(self, driver: Driver, executor: Executor | None, exchange: Exchange, foreign: ForeignRuns | None,
                 input_interval: float, signals: StopSignals):
        self.driver, self.executor, self.exchange = driver, executor, exchange
        self.foreign, self.input_interval = foreign, input_interval
        self.signals = signals
        self.running: TrialInfo | None = None
        self.stop_reason: str | None = None  # why this rank wants the job to stop
        self.done = False  # its budget is spent
        self._next_input = 0.0

    def run(self) -> str:
        while True:
            self._check_stop()
            flag = STOPPING if self.stop_reason else DONE if self.done else WORKING
            if flag == STOPPING:
                self.exchange.stop_reason = self.stop_reason
            done = self.exchange.progress(flag)
            if done is not None:
                outcome = self._take(done)
                if outcome is not None:
                    return outcome
            self._read_inputs()
            self.driver.heartbeat()
            if self.running is not None and self.executor is not None:
                value = self.executor.poll(POLL_S)
                if value is not None:
                    info, self.running = self.running, None
                    self.driver.finished(info, value)
                    self.exchange.outbox.append(SharedRun.of(self.driver.rh, self.driver.rh.trials[info.trial_id]))
                    self.refit()
            elif self.executor is not None and self.stop_reason is None and flag == WORKING and self.driver.can_ask():
                info = self.driver.ask()
                self.driver.started(info, worker=self.driver.rank)
                self.executor.submit(TrialRequest.from_info(info))
                self.running = info
            else:
                time.sleep(POLL_S)

    def _check_stop(self) -> None:
        """This rank's stop decision: the budget spent makes it DONE (the job ends when every rank
        is), a signal or a limit makes it STOPPING (the job ends at once)."""
        if self.stop_reason is None:
            reason = self.driver.stop_reason(self.signals.name)
            self.done = reason == "n_trials"
            self.stop_reason = None if self.done else reason
            if self.stop_reason and self.running is not None and self.executor is not None:
                self.executor.cancel()  # cut short: it stays RUNNING and runs again on resume
                self.running = None

    def _take(self, done: Round) -> str | None:
        """Tell the other ranks' runs; the stop reason once the ranks agree to stop."""
        for r, runs in done.runs:
            for run in runs:
                self.driver.shared(run, f"rank{r}")
        if done.runs:
            self.refit()
        if done.stopping:
            return self.stop_reason or next(reason for reason in done.reasons if reason)
        if done.all_done:
            return "n_trials"
        return None

    def refit(self) -> None:
        started = time.time()
        if self.driver.update_model():
            self.driver.model_updated(started)

    def _read_inputs(self) -> None:
        if self.foreign is None or time.monotonic() < self._next_input:
            return
        self._next_input = time.monotonic() + self.input_interval
        runs = self.foreign.poll(self.driver.rh.shared_keys)
        for source, run in runs:
            self.driver.shared(run, source)
        if runs:
            self.refit()

