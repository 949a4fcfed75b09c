"""Stop requests: TERM/INT/USR1 (a scheduler's time limit, Ctrl-C) set a flag the loop checks."""

from __future__ import annotations

import signal
import threading
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)
_early: list[int] = []


def record_early_signals() -> None:
    """Record stop signals from now on, before any runtime is ready to act on them: under MPI a
    rank that died of an early Ctrl-C would leave the others waiting for it forever. The next
    `StopSignals` takes over what was recorded."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, lambda signum, frame: _early.append(signum))


class StopSignals:
    """Context manager: while active, stop signals are recorded instead of killing the process.
    SLURM sends TERM more than once; every repeat is absorbed."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum

    def __enter__(self) -> StopSignals:
        if _early and self.signum is None:
            self.signum = _early[0]
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""
