"""The Python API: `optimize(target, scenario, comm=...)`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import UserError
from .runtime.result import RunResult
from .runtime.serial import run_serial
from .scenario import Scenario
from .target import TargetSpec


def optimize(target: Callable[..., Any] | TargetSpec | None, scenario: Scenario, comm: Any = None, *,
             fresh: bool = False, show_progress: bool = True) -> RunResult:
    """Optimize `target` over `scenario` and return the incumbent.

    `target` may be None when the scenario names one. With `comm` (an mpi4py intra-communicator),
    every rank of it calls `optimize`; a communicator of size 1 runs serially. With `mode: psmac`
    every rank of `comm` (or this process alone, without one) is an optimizer.
    """
    if target is None:
        if scenario.target is None:
            raise UserError(f"{scenario.source}: no target given (set the scenario's 'target' key "
                            "or pass a function to optimize)")
        target = scenario.target
    if scenario.mode == "psmac":
        from mpi4py import MPI

        from .runtime.psmac import run_psmac

        return run_psmac(scenario, target, comm if comm is not None else MPI.COMM_SELF, fresh=fresh,
                         show_progress=show_progress)
    if comm is not None and comm.Get_size() > 1:
        from .runtime.mpi import run_mpi  # imports mpi4py: only on this path

        return run_mpi(scenario, target, comm, fresh=fresh, show_progress=show_progress)
    return run_serial(scenario, target, fresh=fresh, show_progress=show_progress)
