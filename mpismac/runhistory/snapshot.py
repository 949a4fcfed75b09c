"""`runhistory.h5`, format version 1: a snapshot of the journal, swapped in atomically.

Written to a temporary file in the same folder and moved over the old one with `os.replace`,
so a reader sees the old snapshot or the new one, never half of one. The snapshot records how
much of the journal it covers (`journal_offset`); readers replay the journal from there.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ConfigSpace
import h5py
import numpy as np

from ..space import configspace_from_json, configspace_to_json
from ..trial import Status
from .journal import WriteObserver
from .records import JobStarted
from .runhistory import LOST, RunHistory, TrajectoryEntry, TrialRecord
from .state import RunState

FORMAT = "mpismac-runhistory"
FORMAT_VERSION = 1
_STR = h5py.string_dtype()


class SnapshotError(ValueError):
    """A file that is not an mpismac snapshot this version can read."""


@dataclass(frozen=True)
class Snapshot:
    state: RunState
    journal_offset: int
    scenario_yaml: str


def _strings(values: list[str]) -> np.ndarray:
    return np.array(values, dtype=object)


def write_snapshot(path: Path, state: RunState, scenario_yaml: str, journal_offset: int,
                   observer: WriteObserver | None = None) -> None:
    """Write the snapshot next to `path`, fsync it, and swap it in (telling `observer`)."""
    from .. import __version__

    rh = state.runhistory
    trace = observer
    if trace is not None:
        trace.begin("snapshot")
    tmp = path.with_name(path.name + ".tmp")
    trials = sorted(rh.trials.values(), key=lambda r: r.trial_id)
    n_obj = len(rh.objectives)
    with h5py.File(tmp, "w", locking=False) as f:
        a = f.attrs
        a["format"], a["format_version"] = FORMAT, FORMAT_VERSION
        a["scenario"], a["configspace"] = scenario_yaml, configspace_to_json(rh.configspace)
        a["mpismac_version"], a["configspace_version"] = __version__, ConfigSpace.__version__
        a["objectives"] = _strings(list(rh.objectives))
        a["hyperparameters"] = _strings(list(rh.configspace.keys()))
        a["journal_offset"] = journal_offset
        a["walltime_used"] = state.walltime_used
        a["cputime_used"] = state.cputime_used
        g = f.create_group("configs")
        g["vector"] = rh.vectors()
        g.create_dataset("values", data=_strings([json.dumps(v) for v in rh.configs]), dtype=_STR)
        g.create_dataset("origin", data=_strings(rh.origins), dtype=_STR)
        if trace is not None:
            trace.middle()  # the new file half built
        t = f.create_group("trials")
        t["trial_id"] = np.array([r.trial_id for r in trials], dtype=np.int64)
        t["config_id"] = np.array([r.config_id for r in trials], dtype=np.int64)
        t.create_dataset("instance", data=_strings([r.instance or "" for r in trials]), dtype=_STR)
        t["seed"] = np.array([r.seed for r in trials], dtype=np.int64)
        t["budget"] = np.array([np.nan if r.budget is None else r.budget for r in trials], dtype=np.float64)
        cost = np.full((len(trials), n_obj), np.nan)
        for i, r in enumerate(trials):
            if r.cost:
                cost[i] = r.cost
        t["cost"] = cost
        t["status"] = np.array([int(r.status) for r in trials], dtype=np.int8)
        t["start_time"] = np.array([r.start_time for r in trials], dtype=np.float64)
        t["end_time"] = np.array([r.end_time for r in trials], dtype=np.float64)
        t["worker"] = np.array([r.worker for r in trials], dtype=np.int32)
        t["origin_rank"] = np.array([r.origin_rank for r in trials], dtype=np.int32)
        t.create_dataset("source", data=_strings([r.source for r in trials]), dtype=_STR)
        t["origin_trial"] = np.array([r.origin_trial for r in trials], dtype=np.int64)
        t.create_dataset("additional_info", data=_strings([json.dumps(r.additional_info, default=repr)
                                                           for r in trials]), dtype=_STR)
        j = f.create_group("trajectory")
        j["trial_id"] = np.array([e.trial_id for e in rh.trajectory], dtype=np.int64)
        j["config_id"] = np.array([e.config_id for e in rh.trajectory], dtype=np.int64)
        j["cost"] = np.array([e.cost for e in rh.trajectory], dtype=np.float64).reshape(-1, n_obj)
        j["walltime"] = np.array([e.walltime for e in rh.trajectory], dtype=np.float64)
        j["trials"] = np.array([e.trials for e in rh.trajectory], dtype=np.int64)
        # Several objectives: each change's front, flattened (`front_size` points per change).
        j["front_size"] = np.array([len(e.front) for e in rh.trajectory], dtype=np.int64)
        j["front_config"] = np.array([c for e in rh.trajectory for c, _ in e.front], dtype=np.int64)
        j["front_cost"] = np.array([cost for e in rh.trajectory for _, cost in e.front],
                                   dtype=np.float64).reshape(-1, n_obj)
        s = f.create_group("state")
        s.create_dataset("optimizer", data=json.dumps(state.optimizer_state), dtype=_STR)
        s.create_dataset("jobs", data=json.dumps([job.to_json() for job in state.jobs]), dtype=_STR)
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    if trace is not None:
        trace.middle()  # written, not yet swapped in
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    if trace is not None:
        trace.end("snapshot")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _fronts(sizes: np.ndarray, configs: np.ndarray, costs: np.ndarray
            ) -> list[tuple[tuple[int, tuple[float, ...]], ...]]:
    """The flattened fronts of the trajectory, one per change again."""
    ends = np.cumsum(sizes)
    return [tuple((int(configs[i]), tuple(float(c) for c in costs[i])) for i in range(end - size, end))
            for size, end in zip(sizes, ends, strict=True)]


def read_snapshot(path: Path) -> Snapshot:
    """Read a snapshot; SnapshotError for a foreign, damaged or newer file."""
    try:
        f = h5py.File(path, "r", locking=False)
    except OSError as exc:
        raise SnapshotError(f"{path}: not a readable HDF5 file ({exc})") from None
    with f:
        if _text(f.attrs.get("format", "")) != FORMAT:
            raise SnapshotError(f"{path}: not an mpismac runhistory (no format = '{FORMAT}' attribute)")
        version = int(f.attrs["format_version"])
        if version > FORMAT_VERSION:
            raise SnapshotError(f"{path}: format version {version} is newer than this mpismac reads "
                                f"({FORMAT_VERSION}); upgrade mpismac")
        try:
            cs = configspace_from_json(_text(f.attrs["configspace"]))
            objectives = tuple(_text(o) for o in f.attrs["objectives"])
            rh = RunHistory(cs, objectives)
            for values, origin in zip(f["configs/values"].asstr()[()], f["configs/origin"].asstr()[()],
                                      strict=True):
                if origin == LOST:
                    rh.add_lost(1)
                else:
                    rh.add_config(json.loads(values), origin)
            t = f["trials"]
            cols = {k: t[k][()] for k in ("trial_id", "config_id", "seed", "budget", "cost", "status",
                                         "start_time", "end_time", "worker", "origin_rank")}
            instances = t["instance"].asstr()[()]
            infos = t["additional_info"].asstr()[()]
            n = len(cols["trial_id"])  # pSMAC's columns; absent in snapshots of older versions
            sources = t["source"].asstr()[()] if "source" in t else [""] * n
            origin_trials = t["origin_trial"][()] if "origin_trial" in t else [-1] * n
            for i in range(len(cols["trial_id"])):
                status = Status(int(cols["status"][i]))
                budget = float(cols["budget"][i])
                rh.restore(TrialRecord(
                    int(cols["trial_id"][i]), int(cols["config_id"][i]), instances[i] or None,
                    int(cols["seed"][i]), None if np.isnan(budget) else budget, status,
                    () if status == Status.RUNNING else tuple(float(c) for c in cols["cost"][i]),
                    float(cols["start_time"][i]), float(cols["end_time"][i]), int(cols["worker"][i]),
                    int(cols["origin_rank"][i]), json.loads(infos[i]), sources[i], int(origin_trials[i])))
            j = f["trajectory"]
            n_trials = j["trials"][()] if "trials" in j else j["trial_id"][()] + 1
            sizes = j["front_size"][()] if "front_size" in j else np.zeros(len(n_trials), dtype=np.int64)
            fronts = _fronts(sizes, j["front_config"][()], j["front_cost"][()]) if "front_size" in j \
                else [()] * len(sizes)
            for tid, cid, cost, wall, n, front in zip(j["trial_id"][()], j["config_id"][()], j["cost"][()],
                                                      j["walltime"][()], n_trials, fronts, strict=True):
                rh.add_trajectory(TrajectoryEntry(int(tid), int(cid), tuple(float(c) for c in cost), float(wall),
                                                  int(n), front))
            state = RunState(rh, json.loads(f["state/optimizer"].asstr()[()]),
                                float(f.attrs["walltime_used"]), float(f.attrs.get("cputime_used", 0.0)),
                                [JobStarted.from_json(j) for j in json.loads(f["state/jobs"].asstr()[()])])
            return Snapshot(state, int(f.attrs["journal_offset"]), _text(f.attrs["scenario"]))
        except (KeyError, ValueError, TypeError) as exc:
            raise SnapshotError(f"{path}: damaged or incomplete snapshot ({type(exc).__name__}: {exc})") from None
