"""`python -m mpismac ...` whose run-folder writes are traced and stretched, for the kill tests:
a `WriteTrace` passed to every Session through its `observer` seam.

    python tests/data/traced_run.py TRACE_FILE PAUSE_SECONDS SCENARIO.yaml [mpismac options]

Each journal append, journal sync and snapshot swap of a rank that writes writes a line to
TRACE_FILE when it begins and when it ends (`B kind time` / `E kind time detail`, one `os.write`
each; the first line is `P pid`), and sleeps PAUSE_SECONDS halfway through (a journal record half
written, a snapshot half built or written but not swapped in). Kill tests use it to land
SIGKILLs inside writes and to know that they did, and which trials were durable before the kill.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from typing import Any

from mpismac import cli
from mpismac.runtime import psmac, serial, session
from mpismac.runtime.session import Session


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


if __name__ == "__main__":
    trace = WriteTrace(sys.argv[1], float(sys.argv[2]))
    traced = functools.partial(Session, observer=trace)
    for runtime in (serial, psmac, session):  # the master-worker runtime imports it from `session` when it manages
        runtime.Session = traced  # type: ignore[attr-defined]
    sys.exit(cli.main(sys.argv[3:]))
