"""Point-to-point messages over an mpi4py intra-communicator, received without spinning.

A blocking receive busy-polls in MPICH and Open MPI (a full core per waiting rank); here a
receive is posted once (`irecv` into a fixed buffer) and tested between the short sleeps of a
`Backoff`.
"""

from __future__ import annotations

import sys
import time
import traceback
from typing import Any

from mpi4py import MPI

from .protocol import Tag
from .transport import Message

ABORT_GRACE_S = 0.5
BUFFER_BYTES = 4 * 2**20  # the largest message (see protocol.fit_result)


class MpiTransport:
    """Receives messages from one source (or any) through an always-posted `irecv`."""

    max_payload: int | None = BUFFER_BYTES - 4096  # room for pickle's framing of the message

    def __init__(self, comm: MPI.Comm, source: int = MPI.ANY_SOURCE):
        self._comm = comm
        self.rank = comm.Get_rank()
        self._source = source
        self._buf = bytearray(BUFFER_BYTES)
        self._status = MPI.Status()
        self._sends: list[MPI.Request] = []
        self._post()

    def _post(self) -> None:
        self._req = self._comm.irecv(self._buf, source=self._source, tag=MPI.ANY_TAG)

    def poll(self) -> Message | None:
        if self._sends:
            self._sends = [r for r in self._sends if not r.Test()]
        done, payload = self._req.test(self._status)
        if not done:
            return None
        message = Message(self._status.Get_source(), Tag(self._status.Get_tag()), payload)
        self._post()
        return message

    def send(self, dest: int, tag: Tag, payload: Any = None) -> None:
        """Send without waiting for the receiver (the request is completed in later polls)."""
        self._sends.append(self._comm.isend(payload, dest=dest, tag=int(tag)))

    def close(self) -> None:
        """Finish outstanding sends and withdraw the posted receive."""
        for r in self._sends:
            r.Wait()
        self._sends = []
        self._req.Cancel()
        self._req.Wait()


def abort_job(comm: MPI.Comm, what: str = "") -> None:
    """End every rank after a failure inside mpismac on this one, saying where on stderr first.
    mpiexec forwards output asynchronously: a moment's wait keeps the message from being lost
    with the processes."""
    sys.stderr.write(f"mpismac: internal error on rank {comm.Get_rank()} of {comm.Get_size()}{what}; "
                     f"aborting the job\n{traceback.format_exc()}")
    sys.stderr.flush()
    time.sleep(ABORT_GRACE_S)
    comm.Abort(1)
