"""Every message between the ranks of a run, in one place: the manager-worker messages and the
collective steps every runtime takes together.

Manager and workers (point-to-point, through a `Transport`; payloads are frozen values):

    READY    worker -> manager  Ready            the trial process started (or why not)
    TRIAL    manager -> worker  TrialRequest     run this trial
    RESULT   worker -> manager  Result           its outcome
    SIGNAL   worker -> manager  Signalled        this rank was told to stop (TERM/INT/USR1)
    STOP     manager -> worker  None             cut the running trial short and finish
    CAP      manager -> worker  Cap              the running trial may use at most this many seconds
    STOPPED  worker -> manager  None             the worker's last message

Collectives (over the user's communicator, every rank calls them in the same order): a value
from rank 0 or from every rank (`from_root`, `from_all`), rank 0's verdict on what every rank
needs (`root_verdict`), the first error any rank met (`first_error`), and the run's outcome sent
from rank 0 to all (`share_outcome`).

pSMAC's exchange rounds (exchange.py carries them): each rank's flag (`WORKING`, `DONE`,
`STOPPING`) and its `RoundMessage`, the runs it finished since its last round.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from ..trial import TrialValue

if TYPE_CHECKING:  # pSMAC's: a worker rank of master-worker does not load the runhistory
    from ..runhistory.shared import SharedRun


class Tag(IntEnum):
    READY = 1
    TRIAL = 2
    RESULT = 3
    SIGNAL = 4
    STOP = 5
    STOPPED = 6
    CAP = 7


@dataclass(frozen=True)
class Ready:
    host: str
    pid: int
    error: str | None  # a user mistake found while starting the trial process (the target does not load)


@dataclass(frozen=True)
class Result:
    trial_id: int
    value: TrialValue


@dataclass(frozen=True)
class Cap:
    """Adaptive capping learned, while a trial ran, that it cannot win past `seconds`."""

    trial_id: int
    seconds: float


@dataclass(frozen=True)
class Signalled:
    signal: str  # its name, e.g. "SIGTERM"


def fit_result(result: Result, max_bytes: int | None) -> Result:
    """A result whose message fits `max_bytes`: an oversized `additional_info` is replaced by a
    note saying so (the trial's status and cost are kept)."""
    if max_bytes is None:
        return result
    import pickle

    size = len(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    if size < max_bytes:
        return result
    info = {"note": f"additional_info of {size} bytes was dropped (larger than a message may be)"}
    if "error" in result.value.additional_info:
        info["error"] = str(result.value.additional_info["error"])[:10000]
    return replace(result, value=replace(result.value, additional_info=info))


# -- collectives ----------------------------------------------------------------------------------

ROOT_WAIT_BACKOFF = (0.0005, 0.05, 1.5)  # seconds: first and longest sleep, growth


def meet(comm: Any) -> None:
    """Wait, sleeping, until every rank has reached this point. A blocking broadcast busy-polls
    in MPICH and Open MPI: ranks waiting in one while rank 0 reads the scenario or opens the run
    folder would take the CPU that rank 0 needs on an oversubscribed node. A non-blocking barrier
    tested between growing sleeps costs them nearly nothing; the broadcast after it is quick."""
    if not hasattr(comm, "Ibarrier"):
        return
    request = comm.Ibarrier()
    delay, longest, growth = ROOT_WAIT_BACKOFF
    while not request.Test():
        time.sleep(delay)
        delay = min(longest, delay * growth)


def from_root(comm: Any, value: Any) -> Any:
    """Rank 0's `value` on every rank."""
    meet(comm)
    return comm.bcast(value, root=0)


def from_all(comm: Any, value: Any) -> list[Any]:
    """Every rank's `value`, in rank order, on every rank."""
    return comm.allgather(value)


def root_verdict(comm: Any, error: str | None) -> str | None:
    """Rank 0's word (None: go on; else why not), the same on every rank."""
    meet(comm)
    return comm.bcast(error, root=0)


def first_error(comm: Any, error: str | None) -> str | None:
    """The first error of any rank, in rank order (None: every rank is fine)."""
    return next((e for e in comm.allgather(error) if e is not None), None)


@dataclass(frozen=True)
class Outcome:
    """How a run ended, from rank 0 to every rank: its result, or the user mistake that ended it."""

    result: Any = None  # RunResult
    error: str | None = None


def share_outcome(comm: Any, outcome: Outcome | None) -> Outcome:
    """Rank 0 passes `outcome`; every rank returns it."""
    meet(comm)
    return comm.bcast(outcome, root=0)


# -- pSMAC exchange rounds ------------------------------------------------------------------------

WORKING, DONE, STOPPING = 0, 1, 2  # a rank's flag in a round


@dataclass(frozen=True)
class RoundMessage:
    """What a rank sends in a round: its runs finished since its last round, and why it stops."""

    runs: tuple[SharedRun, ...]
    stop: str | None = None

    def encode(self) -> bytes:
        return json.dumps({"runs": [run.to_json() for run in self.runs], "stop": self.stop}).encode()

    @classmethod
    def decode(cls, data: bytes) -> RoundMessage:
        from ..runhistory.shared import SharedRun

        d = json.loads(data)
        return cls(tuple(SharedRun.from_json(r) for r in d["runs"]), d["stop"])
