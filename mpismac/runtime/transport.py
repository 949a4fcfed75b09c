"""How the ranks of a run talk: a small transport (send / poll / close), and an in-process one.

The manager and the workers only see `Transport`. `mpi_transport.MpiTransport` carries the
messages over an mpi4py communicator; `LocalNetwork` carries them between threads of one process
through queues, so the manager's dispatch, stop, error and requeue paths run in unit tests
without `mpiexec` (and a simulator can drive the real manager with many workers).
"""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass
from typing import Any, Protocol

from .protocol import Tag


@dataclass(frozen=True)
class Message:
    source: int
    tag: Tag
    payload: Any


class Transport(Protocol):
    """One rank's end. Sends never wait for the receiver; `poll` never blocks."""

    rank: int
    max_payload: int | None  # bytes a message may take (None: no limit)

    def send(self, dest: int, tag: Tag, payload: Any = None) -> None: ...

    def poll(self) -> Message | None:
        """The next message that has arrived, if any."""
        ...

    def close(self) -> None:
        """Finish what was sent; nothing is received after this."""
        ...


class Backoff:
    """Sleeps between polls: `shortest` right after activity, growing by `factor` up to `longest`."""

    def __init__(self, shortest: float, longest: float, factor: float = 2.0):
        self.shortest, self.longest, self.factor = shortest, longest, factor
        self._delay = shortest

    def reset(self) -> None:
        self._delay = self.shortest

    def sleep(self) -> None:
        time.sleep(self._delay)
        self._delay = min(self.longest, self._delay * self.factor)


class LocalNetwork:
    """Ranks 0..size-1 as threads of this process, one queue each."""

    def __init__(self, size: int):
        self._queues: list[queue.SimpleQueue[Message]] = [queue.SimpleQueue() for _ in range(size)]

    def endpoint(self, rank: int) -> LocalTransport:
        return LocalTransport(self, rank)

    def deliver(self, dest: int, message: Message) -> None:
        self._queues[dest].put(message)

    def take(self, rank: int) -> Message | None:
        try:
            return self._queues[rank].get_nowait()
        except queue.Empty:
            return None


class LocalTransport:
    """A rank's end of a `LocalNetwork`. Payloads are passed as they are (no copy): messages
    hold frozen values only."""

    max_payload: int | None = None

    def __init__(self, network: LocalNetwork, rank: int):
        self.network, self.rank = network, rank

    def send(self, dest: int, tag: Tag, payload: Any = None) -> None:
        self.network.deliver(dest, Message(self.rank, tag, payload))

    def poll(self) -> Message | None:
        return self.network.take(self.rank)

    def close(self) -> None:
        pass
