"""Journal records: every change to a run's state is one of these, written to the journal and
applied by `RunState.apply` — the same way live and on replay.

Each record is a frozen dataclass that encodes to one JSON object (`to_json`, with its "op")
and decodes from one (`decode`); the layout is the journal format documented in
docs/run-folder.md. `decode` refuses an unknown op (a newer format) and a record whose fields
are missing or of the wrong kind, naming it, so nothing is skipped silently.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

from ..trial import TrialInfo, TrialValue


class JournalFormatError(ValueError):
    """A record this version cannot read."""


@dataclass(frozen=True)
class FormatHeader:
    """The first record of every journal."""

    op: ClassVar[str] = "format"
    format: str
    version: int

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "format": self.format, "version": self.version}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> FormatHeader:
        return cls(str(d.get("format", "")), int(d.get("version", 0)))


@dataclass(frozen=True)
class JobStarted:
    """A job (one launch) began writing this run."""

    op: ClassVar[str] = "job"
    time: float
    host: str
    job_id: str
    ranks: int
    walltime_used: float

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "time": self.time, "host": self.host, "job_id": self.job_id, "ranks": self.ranks,
                "walltime_used": self.walltime_used}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> JobStarted:
        return cls(float(d["time"]), str(d["host"]), str(d["job_id"]), int(d["ranks"]), float(d["walltime_used"]))


@dataclass(frozen=True)
class ConfigAdded:
    """A configuration new to the run, under the next configuration id."""

    op: ClassVar[str] = "config"
    id: int
    values: dict[str, Any]
    origin: str

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "id": self.id, "values": self.values, "origin": self.origin}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ConfigAdded:
        if not isinstance(d["values"], dict):
            raise TypeError("values is not a mapping")
        return cls(int(d["id"]), dict(d["values"]), str(d["origin"]))


@dataclass(frozen=True)
class TrialStarted:
    """A trial handed to a worker, with the optimizer's proposal counters after proposing it (so
    a restart never proposes from the same random stream twice). A re-queued trial is started
    again under its own id."""

    op: ClassVar[str] = "start"
    trial: int
    config: int
    instance: str | None
    seed: int
    budget: float | None
    time: float
    worker: int = 0
    rank: int = 0
    counters: dict[str, Any] | None = None

    @classmethod
    def of(cls, info: TrialInfo, when: float, worker: int = 0, rank: int = 0,
           counters: dict[str, Any] | None = None) -> TrialStarted:
        return cls(info.trial_id, info.config_id, info.instance, info.seed, info.budget, when, worker, rank, counters)

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "trial": self.trial, "config": self.config, "instance": self.instance,
                "seed": self.seed, "budget": self.budget, "time": self.time, "worker": self.worker,
                "rank": self.rank, "state": self.counters}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TrialStarted:
        return cls(int(d["trial"]), int(d["config"]), d["instance"], int(d["seed"]), _budget(d["budget"]),
                   float(d["time"]), int(d.get("worker", 0)), int(d.get("rank", 0)), d.get("state"))


@dataclass(frozen=True)
class TrialEnded:
    """A trial's outcome."""

    op: ClassVar[str] = "end"
    trial: int
    value: TrialValue

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "trial": self.trial, **self.value.to_json()}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TrialEnded:
        return cls(int(d["trial"]), TrialValue.from_json(d))


@dataclass(frozen=True)
class SharedRunAdded:
    """pSMAC: a finished run made elsewhere (another rank, `source` "rank{R}", or another job's
    run folder), kept under this run's trial id `trial`."""

    op: ClassVar[str] = "shared"
    trial: int
    config: int
    instance: str | None
    seed: int
    budget: float | None
    value: TrialValue
    source: str
    origin_trial: int
    origin_rank: int
    time: float

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "trial": self.trial, "config": self.config, "instance": self.instance,
                "seed": self.seed, "budget": self.budget, **self.value.to_json(), "source": self.source,
                "origin_trial": self.origin_trial, "origin_rank": self.origin_rank, "time": self.time}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SharedRunAdded:
        return cls(int(d["trial"]), int(d["config"]), d["instance"], int(d["seed"]), _budget(d["budget"]),
                   TrialValue.from_json(d), str(d["source"]), int(d["origin_trial"]), int(d["origin_rank"]),
                   float(d.get("time", 0.0)))


@dataclass(frozen=True)
class IncumbentChanged:
    """The incumbent changed: which trial made which configuration the best, and when. With
    several objectives, `front` is the whole Pareto front after the change, (config, costs)
    each, and `config`/`cost` its first point."""

    op: ClassVar[str] = "incumbent"
    trial: int
    config: int
    cost: tuple[float, ...]
    walltime: float
    trials: int  # trials finished when it changed (x axis of "cost over trials")
    front: tuple[tuple[int, tuple[float, ...]], ...] = ()

    def to_json(self) -> dict[str, Any]:
        out = {"op": self.op, "trial": self.trial, "config": self.config, "cost": list(self.cost),
               "walltime": self.walltime, "trials": self.trials}
        if self.front:
            out["front"] = [[c, list(cost)] for c, cost in self.front]
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> IncumbentChanged:
        front = tuple((int(c), tuple(float(x) for x in cost)) for c, cost in d.get("front", ()))
        return cls(int(d["trial"]), int(d["config"]), tuple(float(c) for c in d["cost"]), float(d["walltime"]),
                   int(d.get("trials", int(d["trial"]) + 1)), front)


@dataclass(frozen=True)
class Checkpointed:
    """What a restarted run needs beyond the trials (optimizer state, time used); written at
    every checkpoint, just before the journal is made durable."""

    op: ClassVar[str] = "state"
    state: dict[str, Any]
    walltime_used: float
    cputime_used: float

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "state": self.state, "walltime_used": self.walltime_used,
                "cputime_used": self.cputime_used}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Checkpointed:
        return cls(dict(d["state"]), float(d["walltime_used"]), float(d.get("cputime_used", 0.0)))


@dataclass(frozen=True)
class ModelFitted:
    """For readers: the model was refit (from `started` to `time`) on this many own and shared
    finished runs."""

    op: ClassVar[str] = "model"
    started: float
    time: float
    own: int
    shared: int

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "started": self.started, "time": self.time, "own": self.own, "shared": self.shared}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ModelFitted:
        return cls(float(d["started"]), float(d["time"]), int(d["own"]), int(d["shared"]))


@dataclass(frozen=True)
class ExchangeDone:
    """For readers, pSMAC: this rank's exchanges in a job: rounds, seconds spent in them, wall time."""

    op: ClassVar[str] = "exchange"
    rounds: int
    seconds: float
    walltime: float

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "rounds": self.rounds, "seconds": self.seconds, "walltime": self.walltime}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ExchangeDone:
        return cls(int(d["rounds"]), float(d["seconds"]), float(d["walltime"]))


Record = (FormatHeader | JobStarted | ConfigAdded | TrialStarted | TrialEnded | SharedRunAdded | IncumbentChanged
          | Checkpointed | ModelFitted | ExchangeDone)
KINDS: dict[str, Any] = {k.op: k for k in (FormatHeader, JobStarted, ConfigAdded, TrialStarted, TrialEnded,
                                           SharedRunAdded, IncumbentChanged, Checkpointed, ModelFitted, ExchangeDone)}


def decode(d: dict[str, Any]) -> Record:
    """The record of one journal line's JSON object."""
    kind = KINDS.get(d.get("op"))  # type: ignore[arg-type]
    if kind is None:
        raise JournalFormatError(f"unknown journal record {d.get('op')!r} (written by a newer mpismac?)")
    try:
        return kind.from_json(d)
    except (KeyError, TypeError, ValueError) as exc:
        raise JournalFormatError(f"a {d.get('op')!r} record that does not read ({type(exc).__name__}: {exc})") from None


def model_fitted(n_own: int, n_shared: int, started: float) -> ModelFitted:
    return ModelFitted(started, time.time(), n_own, n_shared)


def _budget(value: Any) -> float | None:
    return None if value is None else float(value)


__all__ = ["KINDS", "Checkpointed", "ConfigAdded", "ExchangeDone", "FormatHeader", "IncumbentChanged",
           "JobStarted", "JournalFormatError", "ModelFitted", "Record", "SharedRunAdded", "TrialEnded",
           "TrialStarted", "decode", "model_fitted"]
