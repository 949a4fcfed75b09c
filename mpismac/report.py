"""A run's summary, from its folder, while it runs or after."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import yamlio
from .pareto import hypervolume
from .runhistory.folder import LOCK, LoadedRun
from .runhistory.merge import load_any
from .runhistory.runhistory import RunHistory


def summarize(run_dir: Path, loaded: LoadedRun | None = None) -> dict[str, Any]:
    """Incumbent, cost, trials by status, time used, and whether a job is writing the folder
    (from `loaded` when the caller has read the folder already)."""
    run_dir = Path(run_dir)
    loaded = loaded or load_any(run_dir)
    state = loaded.state
    rh = state.runhistory
    scenario = yamlio.load(loaded.scenario_yaml)
    inc = rh.incumbent
    lock = None
    if (run_dir / LOCK).exists():
        try:
            lock = json.loads((run_dir / LOCK).read_text())
            lock["heartbeat_age_s"] = round(time.time() - lock["heartbeat"], 1)
        except (OSError, ValueError, KeyError):
            lock = None
    return {
        "run_dir": str(run_dir),
        "name": scenario.get("name"),
        "objectives": list(rh.objectives),
        "n_trials": scenario.get("n_trials"),
        "trials": len(rh.trials),
        "status": rh.status_counts(),
        "incumbent": None if inc is None else {
            "config_id": inc.config_id, "config": rh.configs[inc.config_id], "cost": list(inc.cost),
            "trial_id": inc.trial_id, "walltime": inc.walltime,
        },
        "front": _front(rh, scenario),
        "budgets": _budgets(rh),
        "trajectory_length": len(rh.trajectory),
        "walltime_used": state.walltime_used,
        "workers": _workers(rh, state.walltime_used),
        "jobs": len(state.jobs),
        "running_job": lock,
    }


def reference_point(rh: RunHistory, scenario: dict[str, Any]) -> tuple[list[float], str] | None:
    """The hypervolume's reference point: the scenario's `reference_point`, else the worst finite
    cost of each objective over the finished trials (said which)."""
    if scenario.get("reference_point"):
        return [float(v) for v in scenario["reference_point"]], "scenario"
    costs = np.array([r.cost for r in rh.finished() if r.cost and not r.shared], dtype=float).reshape(
        -1, len(rh.objectives))
    costs = np.where(np.isfinite(costs), costs, np.nan)
    if not len(costs) or np.isnan(costs).all(axis=0).any():
        return None
    return [float(v) for v in np.nanmax(costs, axis=0)], "worst finished cost"


def _front(rh: RunHistory, scenario: dict[str, Any]) -> dict[str, Any] | None:
    """Several objectives: the Pareto front (raced incumbents) and its hypervolume."""
    if len(rh.objectives) == 1:
        return None
    points = [{"config_id": c, "config": rh.configs[c], "cost": list(cost)} for c, cost in rh.front]
    ref = reference_point(rh, scenario)
    costs = [cost for _, cost in rh.front]
    return {"points": points, "hypervolume": None if ref is None else hypervolume(costs, ref[0]),
            "reference_point": None if ref is None else ref[0], "reference_from": None if ref is None else ref[1]}


def _budgets(rh: RunHistory) -> list[dict[str, Any]] | None:
    """Multi-fidelity: per budget, the trials run (own and shared) and the best cost of the first
    objective among them; None when every trial ran at one budget."""
    by: dict[float, list[float]] = {}
    for r in rh.finished():
        if r.budget is not None:
            by.setdefault(r.budget, []).append(r.cost[0] if r.cost and math.isfinite(r.cost[0]) else math.inf)
    if len(by) < 2:
        return None
    return [{"budget": b, "trials": len(c), "best": min(c) if math.isfinite(min(c)) else None}
            for b, c in sorted(by.items())]


def _workers(rh, walltime_used: float) -> dict[str, dict[str, float]]:
    """Per worker: trials finished, seconds busy running them, and that as a share of the run's wall time."""
    out: dict[str, dict[str, float]] = {}
    for r in rh.finished():
        w = out.setdefault(str(r.worker), {"trials": 0, "busy_s": 0.0})
        w["trials"] += 1
        w["busy_s"] += max(r.end_time - r.start_time, 0.0)
    for w in out.values():
        w["busy_s"] = round(w["busy_s"], 3)
        w["utilization"] = round(w["busy_s"] / walltime_used, 3) if walltime_used > 0 else 0.0
    return dict(sorted(out.items(), key=lambda kv: int(kv[0])))


def format_text(s: dict[str, Any]) -> str:
    lines = [f"run        {s['run_dir']}",
             f"trials     {s['trials']} of {s['n_trials']}  ("
             + ", ".join(f"{k.lower()} {v}" for k, v in s["status"].items() if v) + ")"]
    inc = s["incumbent"]
    front = s.get("front")
    if front is not None and inc is not None:
        lines.extend(_front_lines(s["objectives"], front))
    elif inc is None:
        lines.append("incumbent  none yet (no successful trial)")
    else:
        cost = ", ".join(f"{o}={c:.6g}" for o, c in zip(s["objectives"], inc["cost"], strict=True))
        lines.append(f"incumbent  config {inc['config_id']} (trial {inc['trial_id']}, found after "
                     f"{inc['walltime']:.1f} s): {cost}")
        width = max((len(k) for k in inc["config"]), default=0)
        lines.extend(f"    {k:<{width}}  {v}" for k, v in inc["config"].items())
    if s.get("budgets"):
        lines.append(f"budgets    {'budget':>10}  {'trials':>6}  best {s['objectives'][0]}")
        lines.extend(f"    {b['budget']:>16.6g}  {b['trials']:>6}  "
                     + ("-" if b["best"] is None else f"{b['best']:.6g}") for b in s["budgets"])
    wall = s["walltime_used"]
    lines.append(f"time used  {wall:.1f} s over {s['jobs']} job(s)" if math.isfinite(wall) else "")
    workers = s["workers"]
    if workers:
        mean = sum(w["utilization"] for w in workers.values()) / len(workers)
        lines.append(f"workers    {len(workers)}, busy {mean:.0%} of the wall time on average")
        if len(workers) > 1:
            lines.extend(f"    worker {k:>3}  {w['trials']:>6} trials  {w['busy_s']:>10.1f} s busy  "
                         f"{w['utilization']:>5.0%}" for k, w in workers.items())
    job = s["running_job"]
    if job:
        lines.append(f"running    job {job.get('job_id')} on {job.get('host')} (pid {job.get('pid')}), "
                     f"heartbeat {job['heartbeat_age_s']:.0f} s ago")
    return "\n".join(line for line in lines if line)


def _front_lines(objectives: list[str], front: dict[str, Any]) -> list[str]:
    """The front as a table: one row per configuration, its costs, then its values."""
    hv = front["hypervolume"]
    ref = front["reference_point"]
    lines = [f"front      {len(front['points'])} configuration(s), Pareto optimal over {', '.join(objectives)}"
             + ("" if hv is None else f"; hypervolume {hv:.6g} (reference "
                f"[{', '.join(f'{v:.6g}' for v in ref)}], {front['reference_from']})")]
    width = max(12, *(len(o) for o in objectives))
    lines.append("    config  " + "  ".join(f"{o:>{width}}" for o in objectives) + "  values")
    for p in front["points"]:
        values = ", ".join(f"{k}={v}" for k, v in p["config"].items())
        lines.append(f"    {p['config_id']:>6}  " + "  ".join(f"{c:>{width}.6g}" for c in p["cost"])
                     + f"  {values if len(values) <= 100 else values[:97] + '...'}")
    return lines
