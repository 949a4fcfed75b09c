"""A worker rank: start the trial process, then run whatever trial the manager sends until
it says stop. Between messages it sleeps with backoff, so an idle rank costs almost nothing."""

from __future__ import annotations

import logging
import os
import socket
from collections import deque
from collections.abc import Callable

from ..errors import StartCancelled, UserError
from ..execution import Executor, TrialRequest
from .protocol import Cap, Ready, Result, Signalled, Tag, fit_result
from .signals import StopSignals
from .transport import Backoff, Message, Transport

log = logging.getLogger("mpismac")
TRIAL_POLL_S = 0.05
IDLE_BACKOFF = (0.0001, 0.05, 1.25)  # ~30 polls from 0.1 to 50 ms: quick replies are seen at once
MANAGER = 0


class Worker:
    """One worker's loop over a transport. `start_executor(cancelled)` starts its trial process:
    a TargetLoadError is reported to the manager as a user mistake, and a start that `cancelled()`
    ends (a stop signal here, or the manager's STOP, while a slow target is imported) leaves the
    worker without one, to stop with the run."""

    def __init__(self, transport: Transport, start_executor: Callable[[Callable[[], bool]], Executor],
                 signals: StopSignals):
        self.transport = transport
        self.signals = signals
        self._start_executor = start_executor
        self._signalled = False
        self._inbox: deque[Message] = deque()  # messages read while the trial process started

    def run(self) -> None:
        executor: Executor | None = None
        error = None
        try:
            executor = self._start_executor(self._stopping)
        except UserError as exc:
            error = str(exc)
        except StartCancelled:
            pass
        self._pass_on_signal()  # before READY: the manager must not hand this worker a trial then
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

    def _stopping(self) -> bool:
        """Whether the run is stopping: a stop signal here, or STOP from the manager (a message
        read to find out is kept for `_serve`)."""
        if self.signals.requested:
            return True
        message = self.transport.poll()
        if message is not None:
            self._inbox.append(message)
        return any(m.tag == Tag.STOP for m in self._inbox)

    def _poll(self) -> Message | None:
        return self._inbox.popleft() if self._inbox else self.transport.poll()

    def _serve(self, executor: Executor | None) -> None:
        """Run trials until STOP."""
        backoff = Backoff(*IDLE_BACKOFF)
        while True:
            self._pass_on_signal()
            message = self._poll()
            if message is None:
                backoff.sleep()
                continue
            if message.tag == Tag.STOP:
                return
            if message.tag == Tag.CAP:  # for a trial that ended before the message came
                continue
            if message.tag != Tag.TRIAL or executor is None:
                raise RuntimeError(f"worker got an unexpected {message.tag.name} message")
            request: TrialRequest = message.payload
            try:
                executor.submit(request)
            except StartCancelled:  # its trial process restarted while the run stops: cut short
                return
            while (value := executor.poll(TRIAL_POLL_S)) is None:
                self._pass_on_signal()
                stop = self.transport.poll()
                if stop is not None and stop.tag == Tag.CAP:
                    cap: Cap = stop.payload
                    if cap.trial_id == request.trial_id:  # else it came after that trial ended
                        executor.lower_cap(cap.seconds)
                elif stop is not None:
                    if stop.tag != Tag.STOP:
                        raise RuntimeError(f"worker got {stop.tag.name} while running a trial")
                    executor.cancel()  # cut short: it stays RUNNING in the journal and runs again on resume
                    return
            result = fit_result(Result(request.trial_id, value), self.transport.max_payload)
            self.transport.send(MANAGER, Tag.RESULT, result)
            backoff.reset()  # the next trial usually comes within a millisecond
