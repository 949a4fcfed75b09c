"""SMAC3's trial dataclasses (`smac.runhistory.dataclasses`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ConfigSpace import Configuration

from ...trial import Status


@dataclass(frozen=True)
class TrialInfo:
    """SMAC3's `TrialInfo`: what to evaluate."""

    config: Configuration
    instance: str | None = None
    seed: int | None = None
    budget: float | None = None


@dataclass(frozen=True)
class TrialValue:
    """SMAC3's `TrialValue`: what an evaluation gave (`cost` a float, or a list for several objectives)."""

    cost: float | list[float]
    time: float = 0.0
    cpu_time: float = 0.0
    status: Status = Status.SUCCESS
    starttime: float = 0.0
    endtime: float = 0.0
    additional_info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrialKey:
    config_id: int
    instance: str | None = None
    seed: int | None = None
    budget: float | None = None
