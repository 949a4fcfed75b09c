"""The manager's dispatch, stop, error and requeue paths through the in-process transport: real
Manager, Driver, Session and run folder, workers as threads (or scripted peers that speak the
protocol), no `mpiexec`. Each test takes well under a second."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter

import pytest

from mpismac.errors import TargetLoadError, UserError
from mpismac.execution import InProcessExecutor, TrialSetup
from mpismac.runhistory.folder import load_run
from mpismac.runtime.driver import Driver
from mpismac.runtime.manager import Manager
from mpismac.runtime.protocol import Ready, Result, Signalled, Tag
from mpismac.runtime.session import Session
from mpismac.runtime.signals import StopSignals
from mpismac.runtime.transport import LocalNetwork
from mpismac.runtime.trials import trial_setup
from mpismac.runtime.worker import Worker
from mpismac.scenario import Scenario
from mpismac.trial import Status, TrialValue

pytestmark = pytest.mark.fast


def _scenario(tmp_path, space, **kw) -> Scenario:
    return Scenario(configspace=space, facade="random", deterministic=True, output_directory=str(tmp_path),
                    name="m", **{"n_trials": 30, **kw})


def _quadratic(config):
    return (config["x"] - 1) ** 2 + (config["y"] - 2) ** 2


class _Run:
    """A manager on rank 0 of a LocalNetwork, over a real run folder."""

    def __init__(self, scenario: Scenario, n_workers: int):
        self.network = LocalNetwork(n_workers + 1)
        self.session = Session(scenario)
        self.session.begin()
        self.driver = Driver(scenario, self.session, ranks=n_workers + 1, show_progress=False, model_in_ask=False)
        self.signals = StopSignals()  # not entered: a test sets `signum` as a signal handler would
        self.manager = Manager(self.network.endpoint(0), list(range(1, n_workers + 1)), self.driver, self.signals)

    def run(self) -> str:
        try:
            reason = self.manager.run()
            self.driver.finish(reason)
            return reason
        finally:
            self.session.close()

    def in_thread(self) -> tuple[threading.Thread, dict]:
        out: dict = {}

        def target():
            try:
                out["reason"] = self.run()
            except BaseException as exc:
                out["error"] = exc

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        return thread, out


def _workers(run: _Run, fn, n: int, signals: dict[int, StopSignals] | None = None) -> list[threading.Thread]:
    scenario = run.driver.scenario
    threads = []
    for rank in range(1, n + 1):
        worker = Worker(run.network.endpoint(rank), lambda cancelled: InProcessExecutor(fn, trial_setup(scenario)),
                        (signals or {}).get(rank, StopSignals()))
        threads.append(threading.Thread(target=worker.run, daemon=True))
        threads[-1].start()
    return threads


def _next(network: LocalNetwork, rank: int, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = network.take(rank)
        if message is not None:
            return message
        time.sleep(0.0005)
    raise AssertionError(f"rank {rank} got no message within {timeout} s")


def _expect(network: LocalNetwork, rank: int, tag: Tag):
    message = _next(network, rank)
    assert message.tag == tag, (message.tag, tag)
    return message.payload


def test_every_worker_gets_trials_and_the_budget_ends_the_run(tmp_path, space):
    run = _Run(_scenario(tmp_path, space), n_workers=4)
    threads = _workers(run, _quadratic, 4)
    started = time.monotonic()
    assert run.run() == "n_trials"
    assert time.monotonic() - started < 5
    for t in threads:
        t.join(5)
        assert not t.is_alive()  # every worker was stopped
    trials = load_run(run.session.dir).state.runhistory.trials
    assert sorted(trials) == list(range(30)) and {r.status for r in trials.values()} == {Status.SUCCESS}
    assert set(Counter(r.worker for r in trials.values())) == {1, 2, 3, 4}


def test_a_signal_at_a_worker_stops_the_run_and_the_trials_in_flight_run_again_on_resume(tmp_path, space):
    """Scripted workers: 1 and 2 take a trial each and never answer; 3 reports SIGTERM. The run
    stops with the signal's name, the two trials stay RUNNING, and the next job (two new
    workers) runs them again under their own ids before any new trial."""
    scenario = _scenario(tmp_path, space, n_trials=6)
    run = _Run(scenario, n_workers=3)
    thread, out = run.in_thread()
    for rank in (1, 2, 3):
        run.network.deliver(0, _message(rank, Tag.READY, Ready("here", rank, None)))
    asked = [_expect(run.network, rank, Tag.TRIAL) for rank in (1, 2, 3)]
    run.network.deliver(0, _message(3, Tag.RESULT, Result(asked[2].trial_id, _value(1.0))))
    run.network.deliver(0, _message(3, Tag.SIGNAL, Signalled("SIGTERM")))
    for rank in (1, 2, 3):
        while (message := _next(run.network, rank)).tag == Tag.TRIAL:
            assert rank == 3  # given another trial with its result, before the signal was read
        assert message.tag == Tag.STOP
        run.network.deliver(0, _message(rank, Tag.STOPPED, None))
    thread.join(5)
    assert out == {"reason": "SIGTERM"}
    rh = load_run(run.session.dir).state.runhistory
    cut = sorted(r.trial_id for r in rh.trials.values() if r.status == Status.RUNNING)
    assert {asked[0].trial_id, asked[1].trial_id} <= set(cut)

    again = _Run(scenario, n_workers=2)
    threads = _workers(again, _quadratic, 2)
    assert again.run() == "n_trials"
    for t in threads:
        t.join(5)
    rh = load_run(again.session.dir).state.runhistory
    assert sorted(rh.trials) == list(range(6)) and {r.status for r in rh.trials.values()} == {Status.SUCCESS}
    records = _journal(again.session.dir)
    second_job = records[[i for i, r in enumerate(records) if r["op"] == "job"][1]:]
    starts = [r["trial"] for r in second_job if r["op"] == "start"]
    assert starts[:len(cut)] == cut  # the cut trials first, under their own ids


def test_a_worker_whose_target_does_not_load_ends_the_run_as_a_user_mistake(tmp_path, space):
    run = _Run(_scenario(tmp_path, space), n_workers=2)

    def broken(cancelled):
        raise TargetLoadError("cannot load the target t.py:f: no function 'f'")

    setup = TrialSetup(space, ("cost",), (1e3,))
    good = Worker(run.network.endpoint(1), lambda cancelled: InProcessExecutor(_quadratic, setup), StopSignals())
    bad = Worker(run.network.endpoint(2), broken, StopSignals())
    threads = [threading.Thread(target=w.run, daemon=True) for w in (good, bad)]
    for t in threads:
        t.start()
    with pytest.raises(UserError, match="rank 2 on .*no function 'f'"):
        run.run()
    for t in threads:
        t.join(5)
        assert not t.is_alive()


def test_a_signal_at_the_manager_stops_every_worker(tmp_path, space):
    run = _Run(_scenario(tmp_path, space, n_trials=10_000), n_workers=3)
    threads = _workers(run, _quadratic, 3)
    thread, out = run.in_thread()
    deadline = time.monotonic() + 10
    while run.driver.n_finished < 3 and time.monotonic() < deadline:
        time.sleep(0.001)
    run.signals.signum = signal.SIGUSR1
    thread.join(5)
    assert out == {"reason": "SIGUSR1"}
    for t in threads:
        t.join(5)
        assert not t.is_alive()
    assert 0 < len(load_run(run.session.dir).state.runhistory.trials) < 10_000


def test_a_result_that_crosses_the_stop_is_kept(tmp_path, space):
    """The walltime limit ends the run while a worker is running its trial; its result arrives
    after STOP was sent and is recorded, not lost."""
    run = _Run(_scenario(tmp_path, space, walltime_limit=0.3), n_workers=1)
    thread, out = run.in_thread()
    run.network.deliver(0, _message(1, Tag.READY, Ready("here", 1, None)))
    request = _expect(run.network, 1, Tag.TRIAL)
    _expect(run.network, 1, Tag.STOP)
    run.network.deliver(0, _message(1, Tag.RESULT, Result(request.trial_id, _value(2.0))))
    run.network.deliver(0, _message(1, Tag.STOPPED, None))
    thread.join(5)
    assert out == {"reason": "walltime_limit"}
    record = load_run(run.session.dir).state.runhistory.trials[request.trial_id]
    assert record.status == Status.SUCCESS and record.cost == (2.0,)


def _message(source, tag, payload):
    from mpismac.runtime.transport import Message

    return Message(source, tag, payload)


def _value(cost: float) -> TrialValue:
    now = time.time()
    return TrialValue((cost,), Status.SUCCESS, now, now)


def _journal(run_dir):
    from mpismac.runhistory.journal import read_journal

    return read_journal(run_dir / "journal.jsonl").records


def test_an_oversized_result_keeps_its_status_and_cost_and_gains_no_error():
    """A result too large for a message loses its additional_info, not its outcome; a successful
    trial is not given an (empty) error on the way."""
    from mpismac.runtime.protocol import fit_result

    big = Result(3, TrialValue((0.5,), Status.SUCCESS, 1.0, 2.0, {"blob": "x" * 100_000}))
    fitted = fit_result(big, 10_000)
    assert fitted.trial_id == 3 and fitted.value.cost == (0.5,) and fitted.value.status == Status.SUCCESS
    assert "error" not in fitted.value.additional_info and "dropped" in fitted.value.additional_info["note"]
    crashed = Result(4, TrialValue((1e3,), Status.CRASHED, 1.0, 2.0, {"error": "boom", "traceback": "y" * 100_000}))
    assert fit_result(crashed, 10_000).value.additional_info["error"] == "boom"
    assert fit_result(big, None) is big


def test_a_stop_while_a_worker_still_imports_its_target_ends_the_run_at_once(tmp_path, space):
    """Worker 2's target takes 'forever' to import (a start that polls `cancelled`, as the trial
    process's start does). A SIGTERM at the manager stops the run; worker 2 sees the STOP while
    still starting, gives up its start and stops: the run ends in well under the manager's
    STOP_TIMEOUT_S, the other worker's trials kept."""
    from mpismac.errors import StartCancelled

    run = _Run(_scenario(tmp_path, space, n_trials=10_000), n_workers=2)
    setup = TrialSetup(space, ("cost",), (1e3,))

    def slow_import(cancelled):
        while not cancelled():
            time.sleep(0.01)
        raise StartCancelled("stopped while the target was imported")

    fast = Worker(run.network.endpoint(1), lambda cancelled: InProcessExecutor(_quadratic, setup), StopSignals())
    slow = Worker(run.network.endpoint(2), slow_import, StopSignals())
    threads = [threading.Thread(target=w.run, daemon=True) for w in (fast, slow)]
    for t in threads:
        t.start()
    thread, out = run.in_thread()
    deadline = time.monotonic() + 10
    while run.driver.n_finished < 3 and time.monotonic() < deadline:
        time.sleep(0.001)
    stopped = time.monotonic()
    run.signals.signum = signal.SIGTERM
    thread.join(10)
    assert out == {"reason": "SIGTERM"} and time.monotonic() - stopped < 5
    for t in threads:
        t.join(5)
        assert not t.is_alive()
    trials = load_run(run.session.dir).state.runhistory.trials
    assert {r.worker for r in trials.values()} == {1}


def test_a_signal_at_a_worker_that_still_imports_its_target_stops_the_run(tmp_path, space):
    """The worker's own stop flag cancels its start; it tells the manager before it says READY,
    so it is never handed a trial it could not run."""
    from mpismac.errors import StartCancelled

    run = _Run(_scenario(tmp_path, space, n_trials=10_000), n_workers=1)
    signals = StopSignals()

    def slow_import(cancelled):
        signals.signum = signal.SIGTERM  # the signal comes while the target is imported
        while not cancelled():
            time.sleep(0.01)
        raise StartCancelled("stopped while the target was imported")

    worker = threading.Thread(target=Worker(run.network.endpoint(1), slow_import, signals).run, daemon=True)
    worker.start()
    assert run.run() == "SIGTERM"
    worker.join(5)
    assert not worker.is_alive() and load_run(run.session.dir).state.runhistory.trials == {}
