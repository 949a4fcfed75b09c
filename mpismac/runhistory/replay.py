"""Journal records <-> runhistory: how each record is written and how it is replayed.

Replay dispatches on a table and refuses records it does not know (a newer format), so
nothing is skipped silently.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..trial import Status, TrialInfo, TrialValue
from .runhistory import RunHistory, TrajectoryEntry


class JournalFormatError(ValueError):
    """A record this version cannot read."""


@dataclass
class ReplayState:
    """What replay rebuilds beside the runhistory."""

    runhistory: RunHistory
    optimizer_state: dict[str, Any] | None = None
    walltime_used: float = 0.0
    cputime_used: float = 0.0
    jobs: list[dict[str, Any]] = field(default_factory=list)


# -- records ------------------------------------------------------------------------------------

def job_record(time: float, host: str, job_id: str, ranks: int, walltime_used: float) -> dict[str, Any]:
    return {"op": "job", "time": time, "host": host, "job_id": job_id, "ranks": ranks,
            "walltime_used": walltime_used}


def config_record(config_id: int, values: dict[str, Any], origin: str) -> dict[str, Any]:
    return {"op": "config", "id": config_id, "values": values, "origin": origin}


def start_record(info: TrialInfo, time: float, worker: int, rank: int,
                 optimizer_state: dict[str, Any]) -> dict[str, Any]:
    """A trial handed to a worker, with the optimizer's proposal counters after proposing it (so
    a restart never proposes from the same random stream twice)."""
    return {"op": "start", "trial": info.trial_id, "config": info.config_id, "instance": info.instance,
            "seed": info.seed, "budget": info.budget, "time": time, "worker": worker, "rank": rank,
            "state": optimizer_state}


def end_record(trial_id: int, value: TrialValue) -> dict[str, Any]:
    return {"op": "end", "trial": trial_id, "status": int(value.status), "cost": list(value.cost),
            "start": value.start_time, "end": value.end_time, "info": value.additional_info}


def incumbent_record(entry: TrajectoryEntry) -> dict[str, Any]:
    return {"op": "incumbent", "trial": entry.trial_id, "config": entry.config_id,
            "cost": list(entry.cost), "walltime": entry.walltime, "trials": entry.trials}


def shared_record(info: TrialInfo, value: TrialValue, source: str, origin_trial: int,
                  origin_rank: int) -> dict[str, Any]:
    """pSMAC: a finished run made elsewhere, under this run's trial id."""
    return {"op": "shared", "trial": info.trial_id, "config": info.config_id, "instance": info.instance,
            "seed": info.seed, "budget": info.budget, "status": int(value.status), "cost": list(value.cost),
            "start": value.start_time, "end": value.end_time, "info": value.additional_info,
            "source": source, "origin_trial": origin_trial, "origin_rank": origin_rank, "time": time.time()}


def model_record(n_own: int, n_shared: int, started: float) -> dict[str, Any]:
    """The model was refit (from `started` to now) on this many own and shared finished runs."""
    return {"op": "model", "started": started, "time": time.time(), "own": n_own, "shared": n_shared}


def exchange_record(rounds: int, seconds: float, walltime: float) -> dict[str, Any]:
    """pSMAC: this rank's exchanges in this job: rounds, seconds spent in them, wall time."""
    return {"op": "exchange", "rounds": rounds, "seconds": seconds, "walltime": walltime}


def state_record(state: dict[str, Any], walltime_used: float, cputime_used: float) -> dict[str, Any]:
    return {"op": "state", "state": state, "walltime_used": walltime_used, "cputime_used": cputime_used}


# -- replay -------------------------------------------------------------------------------------

def _format(s: ReplayState, r: dict[str, Any]) -> None:
    if r.get("version", 0) > 1:
        raise JournalFormatError(f"journal format version {r.get('version')} is newer than this mpismac reads (1)")


def _job(s: ReplayState, r: dict[str, Any]) -> None:
    s.jobs.append(r)


def _config(s: ReplayState, r: dict[str, Any]) -> None:
    config_id, _ = s.runhistory.add_config(r["values"], r["origin"])
    if config_id != r["id"]:
        raise JournalFormatError(f"configuration id {r['id']} replayed as {config_id}")


def _start(s: ReplayState, r: dict[str, Any]) -> None:
    rh = s.runhistory
    info = TrialInfo(r["trial"], r["config"], rh.configs[r["config"]], r["instance"], r["seed"], r["budget"])
    rh.start_trial(info, r["time"], r.get("worker", 0), r.get("rank", 0))
    if r.get("state") is not None:  # the proposal counters, newer than the last checkpoint
        s.optimizer_state = {**(s.optimizer_state or {}), **r["state"]}


def _end(s: ReplayState, r: dict[str, Any]) -> None:
    s.runhistory.end_trial(r["trial"], TrialValue(tuple(r["cost"]), Status(r["status"]), r["start"],
                                                  r["end"], r["info"]))


def _shared(s: ReplayState, r: dict[str, Any]) -> None:
    rh = s.runhistory
    info = TrialInfo(r["trial"], r["config"], rh.configs[r["config"]], r["instance"], r["seed"], r["budget"])
    value = TrialValue(tuple(r["cost"]), Status(r["status"]), r["start"], r["end"], r["info"])
    rh.add_shared(info, value, r["source"], r["origin_trial"], r["origin_rank"])


def _note(s: ReplayState, r: dict[str, Any]) -> None:
    """Records for readers (model updates, exchange time); nothing to restore."""


def _incumbent(s: ReplayState, r: dict[str, Any]) -> None:
    s.runhistory.add_trajectory(TrajectoryEntry(r["trial"], r["config"], tuple(r["cost"]), r["walltime"],
                                                      r.get("trials", r["trial"] + 1)))


def _state(s: ReplayState, r: dict[str, Any]) -> None:
    s.optimizer_state = r["state"]
    s.walltime_used = r["walltime_used"]
    s.cputime_used = r.get("cputime_used", 0.0)


REPLAY: dict[str, Callable[[ReplayState, dict[str, Any]], None]] = {
    "format": _format, "job": _job, "config": _config, "start": _start, "end": _end,
    "incumbent": _incumbent, "state": _state, "shared": _shared, "model": _note, "exchange": _note,
}


def replay(state: ReplayState, records: list[dict[str, Any]]) -> None:
    for record in records:
        handler = REPLAY.get(record.get("op"))
        if handler is None:
            raise JournalFormatError(f"unknown journal record {record.get('op')!r} (written by a newer mpismac?)")
        handler(state, record)
