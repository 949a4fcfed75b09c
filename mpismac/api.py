"""The Python API: `optimize(target, scenario, comm=...)`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from .errors import ScenarioError, UserError
from .runtime.result import RunResult
from .runtime.serial import run_serial
from .scenario import Scenario
from .target import TargetSpec, parse_target


def optimize(target: Callable[..., Any] | TargetSpec | str | Sequence[str] | None, scenario: Scenario,
             comm: Any = None, *, fresh: bool = False, show_progress: bool = True) -> RunResult:
    """Optimize `target` over `scenario` and return the incumbent.

    `target` is a function, a string as the scenario's `target` key takes it (`"module:function"`,
    `"file.py:function"` or a command, paths relative to the current directory), or None when the
    scenario names one. With `comm` (an mpi4py intra-communicator), every rank of it calls
    `optimize`; a communicator of size 1 runs serially. With `mode: psmac` every rank of `comm` (or
    this process alone, without one) is an optimizer; with `mode: groups` the ranks of `comm` form
    master-worker groups whose managers share their runs.

    Raises TypeError for an argument of the wrong kind, and a UserError (ScenarioError) for a
    target string that does not name a target, before anything is created.
    """
    _check_arguments(target, scenario, comm)
    resolved: TargetSpec | Callable[..., Any]
    if target is None:
        if scenario.target is None:
            raise UserError(f"{scenario.source}: no target given (set the scenario's 'target' key "
                            "or pass a function to optimize)")
        resolved = scenario.target
    elif isinstance(target, (str, list, tuple)):
        try:
            resolved = parse_target(target if isinstance(target, str) else list(target), Path.cwd())
        except ValueError as exc:
            raise ScenarioError("optimize()", [("target", str(exc))]) from None
    else:
        resolved = cast("TargetSpec | Callable[..., Any]", target)
    if scenario.mode == "psmac":
        from mpi4py import MPI

        from .runtime.psmac import run_psmac

        return run_psmac(scenario, resolved, comm if comm is not None else MPI.COMM_SELF, fresh=fresh,
                         show_progress=show_progress)
    if scenario.mode == "groups":
        from mpi4py import MPI

        from .runtime.groups import run_groups

        return run_groups(scenario, resolved, comm if comm is not None else MPI.COMM_SELF, fresh=fresh,
                          show_progress=show_progress)
    if comm is not None and comm.Get_size() > 1:
        from .runtime.mpi import run_mpi  # imports mpi4py: only on this path

        return run_mpi(scenario, resolved, comm, fresh=fresh, show_progress=show_progress)
    return run_serial(scenario, resolved, fresh=fresh, show_progress=show_progress)


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _check_arguments(target: Any, scenario: Any, comm: Any) -> None:
    """TypeError, saying what was expected, for an argument of the wrong kind."""
    if not isinstance(scenario, Scenario):
        how = (f"read a file with Scenario.from_yaml({str(scenario)!r})" if isinstance(scenario, (str, Path))
               else "build one with Scenario(configspace=..., ...) or Scenario.from_dict({...})"
               if isinstance(scenario, dict) else "build one with Scenario(...) or Scenario.from_yaml(path)")
        raise TypeError(f"optimize: scenario must be a mpismac.Scenario ({how}), got {_describe(scenario)}")
    is_argv = isinstance(target, (list, tuple)) and bool(target) and all(isinstance(a, str) for a in target)
    if not (target is None or callable(target) or isinstance(target, (TargetSpec, str)) or is_argv):
        raise TypeError("optimize: target must be a function, a string as the scenario's 'target' key takes it "
                        "('module:function', 'file.py:function' or a command), or None to run the scenario's "
                        f"target; got {_describe(target)}")
    if comm is not None:
        if not all(hasattr(comm, name) for name in ("Get_size", "Get_rank", "bcast")):
            raise TypeError("optimize: comm must be an mpi4py intra-communicator (MPI.COMM_WORLD, or a Split "
                            f"of it) or None for a run in this process alone; got {_describe(comm)}")
        if getattr(comm, "Is_inter", None) is not None and comm.Is_inter():
            raise TypeError("optimize: comm must be an intra-communicator; got an inter-communicator")
