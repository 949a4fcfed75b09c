"""What crosses every boundary: a trial to run, its outcome, and SMAC3's status codes."""

from __future__ import annotations

import math
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


@dataclass(frozen=True)
class TrialValue:
    """What a finished trial produced. `cost` has one entry per objective."""

    cost: tuple[float, ...]
    status: Status = Status.SUCCESS
    start_time: float = 0.0
    end_time: float = 0.0
    additional_info: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == Status.SUCCESS and all(math.isfinite(c) for c in self.cost)
