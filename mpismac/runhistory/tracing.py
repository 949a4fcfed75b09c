"""Kill-test hook: announce every write to the run folder, and optionally stretch it.

With `MPISMAC_WRITE_TRACE=FILE` set, each journal append, journal sync and snapshot swap of
this process writes a line to FILE when it begins and when it ends (`B kind time` / `E kind
time detail`, one `os.write` each), and with `MPISMAC_WRITE_PAUSE=SECONDS` it sleeps that long
halfway through (a journal record half written, a snapshot half built or written but not yet
swapped in). Kill tests use it to land SIGKILLs inside writes and to know that they did, and
which trials were durable before the kill. Unset, as in every real run, it costs one `is None`
check per write.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any


class WriteTrace:
    def __init__(self, path: str, pause: float):
        self.path, self.pause = path, pause
        self._fd = -1

    def _line(self, text: str) -> None:
        if self._fd < 0:  # opened by the first write: the writing rank's pid comes first
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.write(self._fd, f"P {os.getpid()}\n".encode())
        os.write(self._fd, (text + "\n").encode())

    def begin(self, kind: str) -> None:
        self._line(f"B {kind} {time.time():.6f}")

    def middle(self) -> None:
        if self.pause > 0:
            time.sleep(self.pause)

    def end(self, kind: str, detail: Any = None) -> None:
        self._line(f"E {kind} {time.time():.6f}" + ("" if detail is None else " " + json.dumps(detail)))


def _from_environment() -> WriteTrace | None:
    path = os.environ.get("MPISMAC_WRITE_TRACE")
    return WriteTrace(path, float(os.environ.get("MPISMAC_WRITE_PAUSE", "0"))) if path else None


TRACE = _from_environment()
