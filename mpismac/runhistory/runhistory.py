"""Trials and configurations of a run, in memory, in trial-id order."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from ConfigSpace import Configuration, ConfigurationSpace

from ..space import config_key
from ..trial import Status, TrialInfo, TrialValue

LOST = "lost"  # the origin of a placeholder for a configuration whose record was damaged


@dataclass(frozen=True)
class TrialRecord:
    """One row of the runhistory: what was run where, and (once ended) its outcome."""

    trial_id: int
    config_id: int
    instance: str | None
    seed: int
    budget: float | None
    status: Status = Status.RUNNING
    cost: tuple[float, ...] = ()
    start_time: float = 0.0
    end_time: float = 0.0
    worker: int = 0
    origin_rank: int = 0
    additional_info: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # pSMAC: where a shared run came from ("rank3", or a run folder); "" for own trials
    origin_trial: int = -1  # a shared run's trial id where it ran

    @property
    def shared(self) -> bool:
        return bool(self.source)


@dataclass(frozen=True)
class TrajectoryEntry:
    """An incumbent change: which trial made which configuration the best, and when. With
    several objectives, `front` is the Pareto front after the change, (config, costs) each."""

    trial_id: int
    config_id: int
    cost: tuple[float, ...]
    walltime: float
    trials: int = 0  # trials finished when it changed (x axis of "cost over trials")
    front: tuple[tuple[int, tuple[float, ...]], ...] = ()

    @property
    def points(self) -> tuple[tuple[int, tuple[float, ...]], ...]:
        """Every incumbent after the change: the front, or the one configuration."""
        return self.front or ((self.config_id, self.cost),)


class RunHistory:
    """Configurations (deduplicated by value) and trials. Only this class mutates them."""

    def __init__(self, configspace: ConfigurationSpace, objectives: tuple[str, ...]):
        self.configspace = configspace
        self.objectives = tuple(objectives)
        self.configs: list[dict[str, Any]] = []
        self.origins: list[str] = []
        self.trials: dict[int, TrialRecord] = {}
        self.trajectory: list[TrajectoryEntry] = []
        self._ids: dict[str, int] = {}
        self._vectors = np.empty((64, len(configspace)))  # rows 0..len(configs)-1 in use; grows by doubling
        self.n_shared = 0
        self.shared_keys: set[tuple[str, int]] = set()  # (source, origin_trial) of every shared run

    # -- mutation: by RunState.apply (one journal record each), and by readers that rebuild a
    # -- runhistory from a snapshot or from pSMAC parts --------------------------------------------

    def add_config(self, values: dict[str, Any], origin: str) -> tuple[int, bool]:
        """The id of a configuration, and whether it is new."""
        key = config_key(values)
        known = self._ids.get(key)
        if known is not None:
            return known, False
        config_id = len(self.configs)
        self._ids[key] = config_id
        self.configs.append(dict(values))
        self.origins.append(origin)
        self._add_vector(Configuration(self.configspace, values=values).get_array())
        return config_id, True

    def _add_vector(self, row: np.ndarray) -> None:
        """The vector of the configuration just appended to `configs`."""
        n = len(self.configs) - 1
        if n == len(self._vectors):
            self._vectors = np.vstack([self._vectors, np.empty_like(self._vectors)])
        self._vectors[n] = row

    def add_lost(self, count: int) -> None:
        """Placeholders for configurations whose records were damaged and skipped: their ids stay
        taken, they have no values (origin LOST) and no trial refers to them."""
        for _ in range(count):
            self.configs.append({})
            self.origins.append(LOST)
            self._add_vector(np.full(len(self.configspace), np.nan))

    def start_trial(self, info: TrialInfo, start_time: float, worker: int = 0, origin_rank: int = 0) -> None:
        """Record a trial as running; a re-queued trial keeps its id and is started again."""
        self.trials[info.trial_id] = TrialRecord(info.trial_id, info.config_id, info.instance, info.seed,
                                                 info.budget, start_time=start_time, worker=worker,
                                                 origin_rank=origin_rank)

    def add_shared(self, info: TrialInfo, value: TrialValue, source: str, origin_trial: int,
                   origin_rank: int) -> None:
        """A run made elsewhere (another rank, another job), finished, kept for the model."""
        self.restore(TrialRecord(info.trial_id, info.config_id, info.instance, info.seed, info.budget,
                                 value.status, tuple(value.cost), value.start_time, value.end_time,
                                 worker=origin_rank, origin_rank=origin_rank,
                                 additional_info=dict(value.additional_info), source=source,
                                 origin_trial=origin_trial))

    def restore(self, record: TrialRecord) -> None:
        """Put back a trial read from a snapshot."""
        if record.shared and record.trial_id not in self.trials:
            self.n_shared += 1
            self.shared_keys.add((record.source, record.origin_trial))
        self.trials[record.trial_id] = record

    def end_trial(self, trial_id: int, value: TrialValue) -> None:
        record = self.trials[trial_id]
        self.trials[trial_id] = replace(record, status=value.status, cost=tuple(value.cost),
                                        start_time=value.start_time or record.start_time,
                                        end_time=value.end_time, additional_info=dict(value.additional_info))

    def add_trajectory(self, entry: TrajectoryEntry) -> None:
        self.trajectory.append(entry)

    # -- views ---------------------------------------------------------------------------------------

    def lost(self, config_id: int) -> bool:
        return self.origins[config_id] == LOST

    def config_id(self, values: dict[str, Any]) -> int | None:
        """The id of a configuration already in the run, None for a new one."""
        return self._ids.get(config_key(values))

    def info(self, trial_id: int) -> TrialInfo:
        r = self.trials[trial_id]
        return TrialInfo(r.trial_id, r.config_id, self.configs[r.config_id], r.instance, r.seed, r.budget,
                         self.origins[r.config_id])

    @property
    def n_own(self) -> int:
        """Trials this run started itself (pSMAC: not the runs shared with it)."""
        return len(self.trials) - self.n_shared

    def running(self) -> list[TrialRecord]:
        return [r for r in self.trials.values() if r.status == Status.RUNNING]

    def finished(self) -> list[TrialRecord]:
        return [r for r in self.trials.values() if r.status != Status.RUNNING]

    def status_counts(self) -> dict[str, int]:
        counts = Counter(r.status.name for r in self.trials.values())
        return {s.name: counts.get(s.name, 0) for s in Status}

    def vector(self, config_id: int) -> np.ndarray:
        return self._vectors[config_id]

    def vectors(self) -> np.ndarray:
        """ConfigSpace's vector encoding of every configuration (NaN where inactive)."""
        return self._vectors[: len(self.configs)].copy()

    @property
    def incumbent(self) -> TrajectoryEntry | None:
        return self.trajectory[-1] if self.trajectory else None

    @property
    def front(self) -> tuple[tuple[int, tuple[float, ...]], ...]:
        """The incumbents now, (config, costs) each: one, or the Pareto front."""
        return self.trajectory[-1].points if self.trajectory else ()
