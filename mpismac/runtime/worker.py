"""A worker rank: start the trial process, then run whatever trial the manager sends until
it says stop. Between messages it sleeps with backoff, so an idle rank costs almost nothing."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable

from ..errors import UserError
from ..execution import Executor, TrialRequest
from .protocol import Ready, Result, Signalled, Tag, fit_result
from .signals import StopSignals
from .transport import Backoff, Transport

log = logging.getLogger("mpismac")
TRIAL_POLL_S = 0.05
IDLE_BACKOFF = (0.0001, 0.05, 1.25)  # ~30 polls from 0.1 to 50 ms: quick replies are seen at once
MANAGER = 0


class Worker:
    """One worker's loop over a transport. `start_executor` starts its trial process (a
    TargetLoadError is reported to the manager as a user mistake)."""

    def __init__(self, transport: Transport, start_executor: Callable[[], Executor], signals: StopSignals):
        self.transport = transport
        self.signals = signals
        self._start_executor = start_executor
        self._signalled = False

    def run(self) -> None:
        executor: Executor | None = None
        try:
            executor = self._start_executor()
            error = None
        except UserError as exc:
            error = str(exc)
        self.transport.send(MANAGER, Tag.READY, Ready(socket.gethostname(), os.getpid(), error))
        try:
            self._serve(executor)
        finally:
            if executor is not None:
                executor.close()
        self.transport.send(MANAGER, Tag.STOPPED)
        self.transport.close()

    def _pass_on_signal(self) -> None:
        """A stop signal on this rank is the run's: the manager decides (once)."""
        if self.signals.requested and not self._signalled:
            self.transport.send(MANAGER, Tag.SIGNAL, Signalled(self.signals.name))
            self._signalled = True

    def _serve(self, executor: Executor | None) -> None:
        """Run trials until STOP."""
        backoff = Backoff(*IDLE_BACKOFF)
        while True:
            self._pass_on_signal()
            message = self.transport.poll()
            if message is None:
                backoff.sleep()
                continue
            if message.tag == Tag.STOP:
                return
            if message.tag != Tag.TRIAL or executor is None:
                raise RuntimeError(f"worker got an unexpected {message.tag.name} message")
            request: TrialRequest = message.payload
            executor.submit(request)
            while (value := executor.poll(TRIAL_POLL_S)) is None:
                self._pass_on_signal()
                stop = self.transport.poll()
                if stop is not None:
                    if stop.tag != Tag.STOP:
                        raise RuntimeError(f"worker got {stop.tag.name} while running a trial")
                    executor.cancel()  # cut short: it stays RUNNING in the journal and runs again on resume
                    return
            result = fit_result(Result(request.trial_id, value), self.transport.max_payload)
            self.transport.send(MANAGER, Tag.RESULT, result)
            backoff.reset()  # the next trial usually comes within a millisecond
