"""What crosses every boundary: a trial to run, its outcome, and SMAC3's status codes."""

from __future__ import annotations

import hashlib
import json
import math
import numbers
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class Status(IntEnum):
    """Trial status, with SMAC3's codes so exported runhistories read the same."""

    RUNNING = 0
    SUCCESS = 1
    CRASHED = 2
    TIMEOUT = 3
    MEMORYOUT = 4
    CAPPED = 5  # stopped at its adaptive cap (algorithm configuration): its cost is a lower bound


@dataclass(frozen=True)
class TrialInfo:
    """One trial the optimizer asks for: a configuration on an instance, seed and budget."""

    trial_id: int
    config_id: int
    config: dict[str, Any]  # hyperparameter values of the active hyperparameters
    instance: str | None = None
    seed: int = 0
    budget: float | None = None
    origin: str = "random"
    previous_budget: float | None = None  # multi_fidelity: the largest budget it finished at before, same pair
    cutoff: float | None = None  # run_objective runtime: seconds it may run (the cutoff, or less: adaptive capping)


@dataclass(frozen=True)
class TrialValue:
    """What a finished trial produced. `cost` has one entry per objective."""

    cost: tuple[float, ...]
    status: Status = Status.SUCCESS
    start_time: float = 0.0
    end_time: float = 0.0
    additional_info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.cost, tuple):  # TrialValue(cost=1.0), or a list: a tuple of floats
            cost = (self.cost,) if isinstance(self.cost, numbers.Real) else self.cost
            object.__setattr__(self, "cost", tuple(float(c) for c in cost))

    @property
    def ok(self) -> bool:
        return self.status == Status.SUCCESS and all(math.isfinite(c) for c in self.cost)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values, as journal records and shared runs carry a trial's outcome."""
        return {"status": int(self.status), "cost": list(self.cost), "start": self.start_time,
                "end": self.end_time, "info": self.additional_info}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TrialValue:
        return cls(tuple(float(c) for c in d["cost"]), Status(d["status"]), float(d["start"]), float(d["end"]),
                   dict(d["info"]))


@dataclass(frozen=True)
class Checkpoint:
    """What a multi-fidelity target that declares a `checkpoint` argument gets: `key`, the same
    for one configuration on one instance and seed in every run and job (a name for its saved
    state), and `budget`, the largest budget it finished there before (None: start over)."""

    key: str
    budget: float | None = None

    @classmethod
    def of(cls, config: dict[str, Any], instance: str | None, seed: int, budget: float | None) -> Checkpoint:
        text = json.dumps([sorted(config.items()), instance, seed], default=str)
        return cls(hashlib.sha256(text.encode()).hexdigest()[:16], budget)
