"""Simulated workers: rank 0's transport end, with workers that are due times in a heap.

The real manager, driver and optimizer run unchanged; no thread or process stands behind a
worker. A trial sent to a worker gets a duration (divided by `scale`: the manager then faces
`scale` times the result rate a real job would) and a cost from a cheap function, and its
result arrives when due, in real time. This is how one plans a job of thousands of workers on
a laptop: `benchmarks/simulate.py`.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from ..execution import TrialRequest
from ..trial import Status, TrialValue
from .protocol import Ready, Result, Tag
from .transport import Message

Duration = Callable[[TrialRequest], float]  # a trial's length in (unscaled) seconds
Cost = Callable[[dict[str, Any]], float]


class SimulatedWorkers:
    """Workers 1..n as rank 0 sees them. Records when each trial was sent (`sent`) and, per
    dispatch, the latency from the worker's previous result being due to its next trial being
    sent (`latencies`)."""

    rank = 0
    max_payload: int | None = None

    def __init__(self, n_workers: int, duration: Duration, cost: Cost, scale: float = 1.0):
        self.duration, self.cost, self.scale = duration, cost, scale
        self._inbox: deque[Message] = deque(Message(w, Tag.READY, Ready("simulated", 0, None))
                                            for w in range(1, n_workers + 1))
        self._due: list[tuple[float, int, Message]] = []
        self._order = itertools.count()
        self._free_since: dict[int, float] = {}
        self.latencies: list[float] = []
        self.sent: list[float] = []  # when each trial was sent (monotonic)
        self.due: list[float] = []  # when its result was due

    def send(self, dest: int, tag: Tag, payload: Any = None) -> None:
        now = time.monotonic()
        if tag == Tag.TRIAL:
            request: TrialRequest = payload
            self.sent.append(now)
            if dest in self._free_since:
                self.latencies.append(now - self._free_since.pop(dest))
            length = self.duration(request) / self.scale
            self.due.append(now + length)
            start = time.time()
            value = TrialValue((float(self.cost(request.config)),), Status.SUCCESS, start, start + length)
            self._later(now + length, Message(dest, Tag.RESULT, Result(request.trial_id, value)))
        elif tag == Tag.STOP:
            self._later(now, Message(dest, Tag.STOPPED, None))
        else:
            raise RuntimeError(f"a simulated worker got an unexpected {tag.name} message")

    def _later(self, due: float, message: Message) -> None:
        heapq.heappush(self._due, (due, next(self._order), message))

    def poll(self) -> Message | None:
        if self._inbox:
            return self._inbox.popleft()
        if self._due and self._due[0][0] <= time.monotonic():
            due, _, message = heapq.heappop(self._due)
            if message.tag == Tag.RESULT:
                self._free_since[message.source] = due
            return message
        return None

    def close(self) -> None:
        pass


class CpuSampler:
    """Rank 0's busy share over time: this process's CPU seconds per wall second, once a second
    (in a thread that sleeps in between)."""

    def __init__(self, interval: float = 1.0):
        import threading

        self.interval = interval
        self.shares: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mpismac-cpu-sampler", daemon=True)

    def _run(self) -> None:
        wall, cpu = time.monotonic(), time.process_time()
        while not self._stop.wait(self.interval):
            w, c = time.monotonic(), time.process_time()
            self.shares.append((c - cpu) / max(1e-9, w - wall))
            wall, cpu = w, c

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_simulated(scenario: Any, workers: SimulatedWorkers, n_workers: int, *, managers: Any = None,
                  preload: Sequence[Any] = (), show_progress: bool = False) -> tuple[Any, dict[str, Any]]:
    """The scenario's run, managed by the real manager over `workers`; returns its RunResult and
    what the manager faced: utilization, dispatch latencies, results per second, CPU shares.
    With `managers` (an MPI communicator, one rank per simulated group), this rank is the
    manager of one group of `mode: groups` and shares its runs with the others (collective).
    `preload`: finished runs (SharedRun) told first, as if another job had made them: the manager
    then starts with a model of that many observations."""
    from .driver import Driver
    from .manager import Manager
    from .session import Session
    from .signals import StopSignals

    exchange = peers = None
    with StopSignals() as signals, CpuSampler() as sampler:
        if managers is None:
            session = Session(scenario)
            session.begin()
            driver = Driver(scenario, session, ranks=n_workers + 1, show_progress=show_progress, model_in_ask=False)
        else:
            from .exchange import Exchange
            from .groups import ManagerPeers
            from .psmac import open_parts, sharing_driver

            session = open_parts(scenario, managers, fresh=False)
            driver = sharing_driver(scenario, managers, session, show_progress,
                                    ranks=managers.Get_size() * (n_workers + 1))
            exchange = Exchange(managers, scenario.psmac.exchange_interval)
            peers = ManagerPeers(exchange, driver)
        with session:
            for run in preload:
                driver.shared(run, "preload")
            manager = Manager(workers, list(range(1, n_workers + 1)), driver, signals, peers)
            started = time.monotonic()
            stopped_by = manager.run()
            wall = time.monotonic() - started
            if exchange is not None:
                exchange.close()
            result = driver.finish(stopped_by)
    return result, {"utilization": manager.utilization, "latencies": workers.latencies, "wall_s": wall,
                    "results_per_s": result.n_finished / max(1e-9, wall), "cpu_shares": sampler.shares,
                    "observations": len(driver.rh.trials), "sent": workers.sent, "due": workers.due,
                    "fallbacks": driver.optimizer.n_fallbacks, "fits": driver.optimizer.n_fits,
                    "n_finished": result.n_finished}
