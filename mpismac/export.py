"""A run folder out to other tools: a CSV table, or SMAC3 2.x's run folder layout.

SMAC3 (`RunHistory.load`, `Scenario.load`) and tools built on it (DeepCAVE) read the `smac3`
export; configuration ids there start at 1, as SMAC3 numbers them. Trials still running are
left out (SMAC3 keeps no cost for them).
"""

from __future__ import annotations

import csv
import json
import math
import sys
import time
from pathlib import Path
from typing import IO, Any

from . import yamlio
from .errors import UserError
from .runhistory.merge import load_any
from .runhistory.state import RunState
from .space import configspace_to_json
from .trial import Status

FORMATS = ("csv", "smac3")
SMAC3_FILES = ("runhistory.json", "intensifier.json", "optimization.json", "scenario.json", "configspace.json")


def _finished(state: RunState) -> list:
    return sorted(state.runhistory.finished(), key=lambda r: r.trial_id)


def write_csv(state: RunState, out: IO[str]) -> int:
    """A row per trial (running ones included), hyperparameters as columns; the number of rows."""
    rh = state.runhistory
    names = list(rh.configspace.keys())
    cost_cols = ["cost"] if len(rh.objectives) == 1 else list(rh.objectives)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["trial_id", "config_id", "instance", "seed", "budget", "status", *cost_cols,
                     "start_time", "end_time", "duration", "worker", "origin", *names])
    trials = sorted(rh.trials.values(), key=lambda r: r.trial_id)
    for r in trials:
        config = rh.configs[r.config_id]
        costs = list(r.cost) if r.cost else [""] * len(cost_cols)
        duration = r.end_time - r.start_time if r.status != Status.RUNNING else ""
        writer.writerow([r.trial_id, r.config_id, r.instance or "", r.seed, "" if r.budget is None else r.budget,
                         r.status.name, *costs, r.start_time, r.end_time if r.status != Status.RUNNING else "",
                         duration, r.worker, rh.origins[r.config_id], *(config.get(n, "") for n in names)])
    return len(trials)


def _smac3_scenario(raw: dict[str, Any], n_workers: int) -> dict[str, Any]:
    objectives = raw.get("objectives") or ["cost"]
    crash = raw.get("crash_cost", math.inf)
    threshold = raw.get("termination_cost_threshold")

    def one_or_list(value):  # SMAC3 keeps a number for one objective
        return value[0] if isinstance(value, list) and len(value) == 1 else value

    runtime = raw.get("run_objective") == "runtime"
    return {
        "name": raw.get("name"),
        "deterministic": bool(raw.get("deterministic", False)),
        "objectives": objectives[0] if len(objectives) == 1 else list(objectives),
        "crash_cost": one_or_list(crash),
        "termination_cost_threshold": math.inf if threshold is None else one_or_list(threshold),
        "walltime_limit": raw.get("walltime_limit", math.inf),
        "cputime_limit": raw.get("cputime_limit", math.inf),
        "trial_walltime_limit": raw.get("trial_walltime_limit"),
        "trial_memory_limit": None if raw.get("trial_memory_limit") is None else int(raw["trial_memory_limit"]),
        "n_trials": raw.get("n_trials", 100),
        "use_default_config": bool(raw.get("use_default_config", False)),
        "instances": raw.get("instances"),
        "instance_features": raw.get("instance_features"),
        "adaptive_capping": runtime and raw.get("adaptive_capping") is not False,
        "adaptive_capping_slackfactor": raw.get("adaptive_capping_slackfactor") if runtime else None,
        "runtime_cutoff": (raw.get("runtime_cutoff") or raw.get("trial_walltime_limit")) if runtime else None,
        "min_budget": raw.get("min_budget"),
        "max_budget": raw.get("max_budget"),
        "seed": raw.get("seed", 0),
        "n_workers": n_workers,
        "_meta": {"facade": {"name": f"mpismac:{raw.get('facade', 'hpo')}"}},
    }


def write_smac3(state: RunState, scenario_yaml: str, out_dir: Path) -> int:
    """SMAC3's runhistory.json, configspace.json, scenario.json, intensifier.json and
    optimization.json in `out_dir`; the number of trials written."""
    rh = state.runhistory
    raw = yamlio.load(scenario_yaml)
    single = len(rh.objectives) == 1
    trials = _finished(state)
    data = [{
        "config_id": r.config_id + 1,
        "instance": r.instance,
        "seed": r.seed,
        "budget": r.budget,
        "cost": r.cost[0] if single else list(r.cost),
        "time": max(r.end_time - r.start_time, 0.0),
        "cpu_time": float(r.additional_info.get("cpu_time", 0.0)),
        "status": int(Status.TIMEOUT if r.status == Status.CAPPED else r.status),  # SMAC3 2.x has no CAPPED
        "starttime": r.start_time,
        "endtime": r.end_time,
        "additional_info": r.additional_info,
    } for r in trials]
    used = {r.config_id for r in trials}
    runhistory = {
        "stats": {"submitted": len(trials), "finished": len(trials), "running": 0},
        "data": data,
        "configs": {str(cid + 1): rh.configs[cid] for cid in sorted(used)},
        "config_origins": {str(cid + 1): rh.origins[cid] for cid in range(len(rh.configs))},
    }
    trajectory = [{"config_ids": [c + 1 for c, _ in e.points],
                   "costs": [cost[0] if single else list(cost) for _, cost in e.points],
                   "trial": e.trials, "walltime": e.walltime}
                  for e in rh.trajectory]  # several objectives: the front after each change
    intensifier = {"incumbent_ids": [c + 1 for c, _ in rh.front], "rejected_config_ids": [],
                   "incumbents_changed": len(rh.trajectory), "trajectory": trajectory, "state": {"queue": []}}
    workers = max((j.ranks for j in state.jobs), default=1)
    optimization = {"used_walltime": state.walltime_used,
                    "used_target_function_walltime": sum(d["time"] for d in data),
                    "used_target_function_cputime": sum(d["cpu_time"] for d in data),
                    "last_update": time.time(), "finished": len(trials) >= int(raw.get("n_trials", 0))}
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"runhistory.json": runhistory, "intensifier.json": intensifier, "optimization.json": optimization,
             "scenario.json": {**_smac3_scenario(raw, max(workers - 1, 1)), "output_directory": str(out_dir)}}
    for name, content in files.items():
        (out_dir / name).write_text(json.dumps(content, indent=2, default=repr))
    (out_dir / "configspace.json").write_text(configspace_to_json(rh.configspace))
    return len(trials)


def export(run_dir: Path, fmt: str, output: Path | None, force: bool = False) -> str:
    """Export a run folder; a line saying what was written where. An output that cannot be written
    (a missing folder, a file where a folder is wanted or the other way round) is a UserError, and
    so is an existing output file unless `force`."""
    if fmt == "csv":
        if output is not None:
            _check_csv_output(Path(output), force)
        loaded = load_any(Path(run_dir))
        if output is None:
            write_csv(loaded.state, sys.stdout)
            return ""
        special = Path(output).exists() and not Path(output).is_file()  # /dev/stdout, a named pipe
        try:
            with open(output, "w" if force or special else "x", newline="") as f:
                n = write_csv(loaded.state, f)
        except FileExistsError:
            raise UserError(f"{output}: exists (created meanwhile); use --force to overwrite it") from None
        except OSError as exc:
            raise UserError(f"{output}: cannot write the CSV file ({exc.strerror})") from None
        return f"{n} trials written to {output}"
    out_dir = Path(output) if output is not None else Path(run_dir) / "smac3"
    _check_smac3_output(out_dir, force)
    loaded = load_any(Path(run_dir))
    try:
        n = write_smac3(loaded.state, loaded.scenario_yaml, out_dir)
    except OSError as exc:
        raise UserError(f"{out_dir}: cannot write the SMAC3 run folder ({exc.strerror})") from None
    return f"{n} finished trials written as a SMAC3 run folder to {out_dir}"


def _check_csv_output(path: Path, force: bool) -> None:
    if path.is_dir():
        raise UserError(f"{path}: is a folder; --format csv writes one file: name it, e.g. {path / 'run.csv'}")
    if not path.parent.is_dir():
        raise UserError(f"{path}: the folder {path.parent} does not exist")
    if path.is_file() and not force:
        raise UserError(f"{path}: exists; use --force to overwrite it")


def _check_smac3_output(path: Path, force: bool) -> None:
    if path.exists() and not path.is_dir():
        raise UserError(f"{path}: is a file; --format smac3 writes a folder (SMAC3's run folder layout)")
    existing = [name for name in SMAC3_FILES if (path / name).exists()]
    if existing and not force:
        raise UserError(f"{path}: holds {', '.join(existing)} already; use --force to overwrite, "
                        "or another folder (-o)")
