"""`python -m mpismac ...` whose workers fail inside mpismac after their first trial: a fault
injected through the worker's executor seam (`Worker(start_executor=...)`), for the test that
such a failure aborts the whole job."""

import sys

from mpismac import cli
from mpismac.runtime import mpi, worker


class _FailsAfterATrial:
    def __init__(self, executor):
        self._executor = executor

    def __getattr__(self, name):
        return getattr(self._executor, name)

    def poll(self, timeout):
        if self._executor.poll(timeout) is not None:
            raise RuntimeError("fault injected after a trial")
        return None


class FaultyWorker(worker.Worker):
    def __init__(self, transport, start_executor, signals):
        super().__init__(transport, lambda cancelled: _FailsAfterATrial(start_executor(cancelled)), signals)


mpi.Worker = FaultyWorker
sys.exit(cli.main())
