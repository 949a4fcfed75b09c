"""What a run returns, the same on every rank."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Why a run stopped, and the exit status each reason maps to.
FINISHED = {"n_trials": 0, "walltime_limit": 0, "cputime_limit": 0, "termination_cost_threshold": 0}
STOPPED_EARLY = 3  # a signal or the job's end: resumable


@dataclass(frozen=True)
class FrontPoint:
    """A configuration on the Pareto front and its (mean) costs, one per objective."""

    config: dict[str, Any]
    costs: tuple[float, ...]


@dataclass(frozen=True)
class RunResult:
    """The incumbent and where the run lives. `stopped_by` names the limit or signal that ended it.
    With several objectives, `front` is the result: the Pareto front, in the order of the
    costs, and `incumbent`/`costs` its first point (the best in the first objective)."""

    incumbent: dict[str, Any] | None
    costs: tuple[float, ...] | None  # one per objective
    path: Path
    n_finished: int
    stopped_by: str
    front: tuple[FrontPoint, ...] = ()  # every incumbent: the one, or the Pareto front

    @property
    def cost(self) -> float | tuple[float, ...] | None:
        """The incumbent's cost as SMAC3 gives it: a float for one objective, a tuple for several."""
        if self.costs is None:
            return None
        return self.costs[0] if len(self.costs) == 1 else self.costs

    @property
    def exit_code(self) -> int:
        """The command line's exit status for this run: 0 finished (a limit was reached), 3 stopped
        early (a signal or the job's end: resumable)."""
        return FINISHED.get(self.stopped_by, STOPPED_EARLY)
