"""SMAC3's `smac.runhistory`: its trial types and the reads of its `RunHistory` that scripts use, over our runhistory.

Configuration ids are SMAC3's: they count from 1 (ours from 0).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from ConfigSpace import Configuration

from ...runhistory import RunHistory as Runs
from ...trial import Status
from .dataclasses import TrialInfo, TrialKey, TrialValue
from .enumerations import StatusType

__all__ = ["RunHistory", "StatusType", "TrialInfo", "TrialKey", "TrialValue"]


class RunHistory:
    """A read-only view of a run's trials as SMAC3's `RunHistory` shows them."""

    def __init__(self, runs: Runs):
        self._runs = runs
        self._configs = [Configuration(runs.configspace, values=v) for v in runs.configs]

    def _finished(self, config_id: int) -> list[Any]:
        return [r for r in self._runs.trials.values() if r.config_id == config_id and r.status != Status.RUNNING]

    def _id(self, config: Configuration) -> int:
        found = self._runs.config_id(dict(config))
        if found is None:
            raise KeyError(f"this configuration was not run: {dict(config)}")
        return found

    def __len__(self) -> int:
        return len(self._runs.trials)

    def __iter__(self) -> Iterator[TrialKey]:
        return (key for key, _ in self.items())

    def items(self) -> Iterator[tuple[TrialKey, TrialValue]]:
        """Every trial, in the order they were started."""
        for r in sorted(self._runs.trials.values(), key=lambda r: r.trial_id):
            cost: float | list[float] = list(r.cost) if len(r.cost) > 1 else (r.cost[0] if r.cost else np.nan)
            yield (TrialKey(r.config_id + 1, r.instance, r.seed, r.budget),
                   TrialValue(cost, r.end_time - r.start_time, r.additional_info.get("cpu_time", 0.0), r.status,
                              r.start_time, r.end_time, dict(r.additional_info)))

    @property
    def finished(self) -> int:
        return len(self._runs.finished())

    @property
    def config_ids(self) -> dict[Configuration, int]:
        return {c: i + 1 for i, c in enumerate(self._configs)}

    @property
    def ids_config(self) -> dict[int, Configuration]:
        return {i + 1: c for i, c in enumerate(self._configs)}

    def get_config(self, config_id: int) -> Configuration:
        return self._configs[config_id - 1]

    def get_config_id(self, config: Configuration) -> int:
        return self._id(config) + 1

    def has_config(self, config: Configuration) -> bool:
        return self._runs.config_id(dict(config)) is not None

    def get_configs(self, sort_by: str | None = None) -> list[Configuration]:
        """Every configuration run; `sort_by="cost"` puts the lowest average cost first (SMAC3's
        other orders, "num_trials", also work)."""
        ids = list(range(len(self._configs)))
        if sort_by == "cost":
            ids.sort(key=lambda i: self._mean(i))
        elif sort_by == "num_trials":
            ids.sort(key=lambda i: -len(self._finished(i)))
        elif sort_by is not None:
            raise ValueError(f"sort_by must be None, 'cost' or 'num_trials', got {sort_by!r}")
        return [self._configs[i] for i in ids]

    def _mean(self, config_id: int) -> float:
        costs = [r.cost for r in self._finished(config_id)]
        if not costs:
            return np.nan
        return float(np.mean(np.mean(costs, axis=0)))

    def get_cost(self, config: Configuration) -> float:
        """The average cost of the configuration's finished trials (several objectives: their mean)."""
        return self._mean(self._id(config))

    def average_cost(self, config: Configuration) -> float | list[float]:
        costs = [r.cost for r in self._finished(self._id(config))]
        if not costs:
            return np.nan
        mean = np.mean(costs, axis=0)
        return float(mean[0]) if len(mean) == 1 else [float(c) for c in mean]

    def get_min_cost(self, config: Configuration) -> float:
        costs = [float(np.mean(r.cost)) for r in self._finished(self._id(config))]
        return min(costs) if costs else np.nan

    def get_trials(self, config: Configuration) -> list[TrialInfo]:
        config_id = self._id(config)
        return [TrialInfo(self._configs[config_id], r.instance, r.seed, r.budget) for r in self._finished(config_id)]
