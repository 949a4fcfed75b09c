"""pSMAC's sharing of finished runs between ranks, in rounds of non-blocking allgathers.

A round has two steps: every rank contributes (its number of bytes, its flag) through
`Iallgather`, then its bytes (the runs it finished since its last round, as JSON) through
`Iallgatherv`. A rank starts a round `interval` seconds after it started the previous one and
goes on with its own work; the round completes once every rank has joined it, which each rank
notices when it tests the request in its poll loop. No rank ever waits for another's trial.

Every rank sees the same flags in the same round, so all of them leave after the same round:
when one rank is stopping (a signal, a limit) or every rank is done with its budget.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from mpi4py import MPI

from ..runhistory.shared import SharedRun
from .protocol import STOPPING, WORKING, RoundMessage


@dataclass(frozen=True)
class Round:
    """What a completed round brought: every rank's flag and the other ranks' runs."""

    index: int
    flags: tuple[int, ...]
    reasons: tuple[str | None, ...]  # why each stopping rank stops
    runs: tuple[tuple[int, list[SharedRun]], ...]  # (rank, runs) of every other rank

    @property
    def stopping(self) -> bool:
        return STOPPING in self.flags

    @property
    def all_done(self) -> bool:
        return all(f != WORKING for f in self.flags)


class Exchange:
    """Rounds over a duplicate of the communicator (collectives of the user's own never mix in)."""

    def __init__(self, comm: MPI.Comm, interval: float):
        self.comm = comm.Dup()
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.interval = interval
        self.outbox: list[SharedRun] = []
        self.stop_reason: str | None = None  # sent with the STOPPING flag
        self.rounds = 0
        self.seconds = 0.0  # spent inside this class: encoding, MPI calls, decoding
        self._started = -float("inf")
        self._step: str | None = None  # None (no round open), "sizes" or "bytes"
        self._req: MPI.Request | None = None

    def progress(self, flag: int, now: float | None = None) -> Round | None:
        """Advance the open round, or open one when it is due (at once when `flag` is STOPPING).
        Returns the round that completed in this call, if any."""
        t0 = time.perf_counter()
        try:
            now = time.monotonic() if now is None else now
            if self._step is None:
                if now - self._started >= self.interval or flag == STOPPING:
                    self._open(flag, now)
                return None
            assert self._req is not None  # a round is open
            if not self._req.Test():
                return None
            if self._step == "sizes":
                self._send_bytes()
                return None
            return self._deliver()
        finally:
            self.seconds += time.perf_counter() - t0

    def _open(self, flag: int, now: float) -> None:
        message = RoundMessage(tuple(self.outbox), self.stop_reason)
        self._payload = np.frombuffer(message.encode(), dtype=np.uint8)
        self.outbox = []
        self._header = np.array([self._payload.size, flag], dtype=np.int64)
        self._headers = np.empty((self.size, 2), dtype=np.int64)
        self._req = self.comm.Iallgather(self._header, self._headers)
        self._step, self._started = "sizes", now

    def _send_bytes(self) -> None:
        counts = self._headers[:, 0].astype(np.int64)
        self._displs = np.concatenate(([0], np.cumsum(counts)[:-1]))
        self._counts = counts
        self._bytes = np.empty(int(counts.sum()), dtype=np.uint8)
        self._req = self.comm.Iallgatherv(
            [self._payload, MPI.BYTE], [self._bytes, (counts.tolist(), self._displs.tolist()), MPI.BYTE])
        self._step = "bytes"

    def _deliver(self) -> Round:
        runs, reasons = [], []
        for r in range(self.size):
            chunk = self._bytes[self._displs[r]:self._displs[r] + self._counts[r]].tobytes()
            message = RoundMessage.decode(chunk)
            reasons.append(message.stop)
            if r != self.rank and message.runs:
                runs.append((r, list(message.runs)))
        self._step, self._req = None, None
        done = Round(self.rounds, tuple(int(f) for f in self._headers[:, 1]), tuple(reasons), tuple(runs))
        self.rounds += 1
        return done

    def close(self) -> None:
        """Only after a round every rank knows to be the last (no request left open)."""
        self.comm.Free()
