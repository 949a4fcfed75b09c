"""Progress of a run: one updating line on a terminal, plain log lines otherwise."""

from __future__ import annotations

import logging
import math
import sys
import time
from typing import TextIO

log = logging.getLogger("mpismac")


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Progress:
    """Trials done/total, incumbent cost, elapsed time and trials per minute."""

    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool = True,
                 log_every: float = 10.0):
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.log_every = log_every
        self._t0 = time.monotonic()
        self._last = -math.inf
        self._line = ""

    def _text(self, done: int, best: float | None, extra: str) -> str:
        elapsed = time.monotonic() - self._t0
        rate = done / elapsed * 60 if elapsed > 0 else 0.0
        best_text = "-" if best is None else f"{best:.6g}"
        return (f"[{done}/{self.total}] best {best_text}  elapsed {_clock(elapsed)}  "
                f"{rate:.1f} trials/min{('  ' + extra) if extra else ''}")

    def update(self, done: int, best: float | None, extra: str = "", force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            if force or now - self._last >= 0.1:
                self._line = self._text(done, best, extra)
                self.stream.write("\r\x1b[2K" + self._line)
                self.stream.flush()
                self._last = now
        elif force or now - self._last >= self.log_every:
            log.info("%s", self._text(done, best, extra))
            self._last = now

    def finish(self, done: int, best: float | None, extra: str = "") -> None:
        if not self.enabled:
            return
        if self.tty:
            self.stream.write("\r\x1b[2K" + self._text(done, best, extra) + "\n")
            self.stream.flush()
        else:
            log.info("%s", self._text(done, best, extra))
