"""`evaluate`: run a finished run's configurations (the default, the incumbent, any by id) on its
test (or training) instances, and compare them: PAR score, timeouts, mean and median runtime
per configuration, as a table, a CSV file in the run folder, and a runtime scatter plot.

The trials are those of the run's own scenario (target, cutoff, limits), so the numbers mean
what they meant while configuring; each (configuration, instance, seed) runs once, on as many
workers as the job has ranks (minus one).
"""

from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UserError
from .execution import TrialRequest
from .optimizer.streams import derived_int
from .runhistory.merge import load_any
from .scenario import Scenario
from .space import config_values
from .target import TargetSpec
from .trial import Status, TrialValue

EVALUATION_DIR = "evaluation"


@dataclass(frozen=True)
class Candidate:
    """A configuration to evaluate and the name it goes by in the table."""

    label: str
    config: dict[str, Any]


@dataclass(frozen=True)
class Plan:
    """What to run: the scenario, the candidates, and one request per (candidate, instance, seed)."""

    scenario: Scenario
    target: TargetSpec
    candidates: tuple[Candidate, ...]
    instances: tuple[str, ...]
    which: str  # "test" or "train"
    requests: tuple[TrialRequest, ...]

    def candidate_of(self, request: TrialRequest) -> Candidate:
        return self.candidates[request.config_id]


def plan(run_dir: Path, which: str = "test", configs: Sequence[str] = ("default", "incumbent"),
         seeds: int = 1) -> Plan:
    """The evaluation of a run folder. Raises UserError naming what is missing."""
    run_dir = Path(run_dir)
    loaded = load_any(run_dir)
    scenario = Scenario.from_yaml(run_dir / "scenario.yaml")
    if scenario.target is None:
        raise UserError(f"{run_dir}: the run's scenario has no target to evaluate")
    instances = scenario.test_instances if which == "test" else scenario.instances
    if not instances:
        key = "test_instances" if which == "test" else "instances"
        raise UserError(f"{run_dir}: the scenario has no '{key}' (evaluate --instances "
                        f"{'train' if which == 'test' else 'test'}, or add them to the scenario)")
    rh = loaded.state.runhistory
    candidates = []
    for name in configs:
        if name == "default":
            candidates.append(Candidate("default", config_values(scenario.configspace.get_default_configuration())))
        elif name == "incumbent":
            if rh.incumbent is None:
                raise UserError(f"{run_dir}: the run has no incumbent yet")
            candidates.append(Candidate(f"incumbent ({rh.incumbent.config_id})",
                                        dict(rh.configs[rh.incumbent.config_id])))
        elif name.isdigit() and int(name) < len(rh.configs):
            candidates.append(Candidate(f"config {name}", dict(rh.configs[int(name)])))
        else:
            raise UserError(f"--configs: '{name}' is not default, incumbent or a configuration id of the run "
                            f"(0..{len(rh.configs) - 1})")
    requests: list[TrialRequest] = []
    for c in range(len(candidates)):
        for instance in instances:
            for s in range(seeds):
                requests.append(TrialRequest(len(requests), c, candidates[c].config,
                                             derived_int(scenario.seed, "evaluate", s), instance, None,
                                             cutoff=scenario.cutoff))
    return Plan(scenario, scenario.target, tuple(candidates), tuple(instances), which, tuple(requests))


@dataclass(frozen=True)
class Row:
    """One configuration's score over the instances."""

    label: str
    runs: int
    score: float  # mean cost: PARk for a runtime objective
    timeouts: int
    crashed: int
    mean_runtime: float | None  # runtime objective: timeouts at the cutoff (PAR1)
    median_runtime: float | None


def score(plan: Plan, results: dict[int, TrialValue]) -> list[Row]:
    rows = []
    cutoff = plan.scenario.cutoff
    for c, candidate in enumerate(plan.candidates):
        values = [results[r.trial_id] for r in plan.requests if r.config_id == c and r.trial_id in results]
        costs = [v.cost[0] for v in values]
        runtimes = None
        if cutoff is not None:
            runtimes = [cutoff if v.status == Status.TIMEOUT else float(v.additional_info.get("runtime", v.cost[0]))
                        for v in values]
        rows.append(Row(candidate.label, len(values), statistics.fmean(costs) if costs else math.nan,
                        sum(v.status == Status.TIMEOUT for v in values),
                        sum(v.status not in (Status.SUCCESS, Status.TIMEOUT) for v in values),
                        statistics.fmean(runtimes) if runtimes else None,
                        statistics.median(runtimes) if runtimes else None))
    return rows


def table(plan: Plan, rows: list[Row]) -> str:
    s = plan.scenario
    what = f"PAR{s.par_factor:g}" if s.cutoff is not None else f"mean {s.objectives[0]}"
    head = f"{'configuration':<24} {'runs':>5} {what:>10} {'timeouts':>9} {'crashed':>8}"
    if s.cutoff is not None:
        head += f" {'mean s':>9} {'median s':>9}"
    lines = [f"{len(plan.instances)} {plan.which} instance(s), cutoff "
             + (f"{s.cutoff:g} s ({s.runtime_measure})" if s.cutoff is not None else "none"), head]
    for r in rows:
        line = f"{r.label:<24} {r.runs:>5} {r.score:>10.4g} {r.timeouts:>9} {r.crashed:>8}"
        if r.mean_runtime is not None and r.median_runtime is not None:
            line += f" {r.mean_runtime:>9.4g} {r.median_runtime:>9.4g}"
        lines.append(line)
    return "\n".join(lines)


def write_csv(path: Path, plan: Plan, results: dict[int, TrialValue]) -> None:
    """One row per run: configuration, instance, seed, status, cost, measured runtime."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["configuration", "instance", "seed", "status", "cost", "runtime"])
        for r in plan.requests:
            value = results.get(r.trial_id)
            if value is not None:
                writer.writerow([plan.candidate_of(r).label, r.instance, r.seed, value.status.name, value.cost[0],
                                 value.additional_info.get("runtime", "")])


def scatter(path: Path, plan: Plan, results: dict[int, TrialValue]) -> None:
    """The first two configurations' cost per instance (mean over seeds), one against the other
    on log axes, with the cutoff marked: points below the diagonal are instances the second
    one solves faster."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if len(plan.candidates) < 2:
        raise UserError("--plot compares two configurations: give --configs with two or more")
    per: list[dict[str, list[float]]] = [{}, {}]
    for r in plan.requests:
        if r.config_id < 2 and r.trial_id in results:
            value = results[r.trial_id]
            runtime = float(value.additional_info.get("runtime", value.cost[0])) if plan.scenario.cutoff else \
                value.cost[0]
            if value.status == Status.TIMEOUT and plan.scenario.cutoff is not None:
                runtime = plan.scenario.cutoff
            per[r.config_id].setdefault(str(r.instance), []).append(runtime)
    common = sorted(set(per[0]) & set(per[1]))
    x = [max(statistics.fmean(per[0][i]), 1e-3) for i in common]
    y = [max(statistics.fmean(per[1][i]), 1e-3) for i in common]
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    ax.scatter(x, y, s=18, alpha=0.7)
    top = max([*x, *y, plan.scenario.cutoff or 0.0]) * 1.5
    low = min([*x, *y]) / 1.5
    ax.plot([low, top], [low, top], color="grey", lw=0.8)
    if plan.scenario.cutoff is not None:
        for line in (ax.axvline, ax.axhline):
            line(plan.scenario.cutoff, color="#d1495b", ls="--", lw=0.8)
    ax.set(xscale="log", yscale="log", xlim=(low, top), ylim=(low, top),
           xlabel=f"{plan.candidates[0].label} (s)" if plan.scenario.cutoff else plan.candidates[0].label,
           ylabel=f"{plan.candidates[1].label} (s)" if plan.scenario.cutoff else plan.candidates[1].label,
           title=f"{len(common)} {plan.which} instances")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def csv_path(run_dir: Path, which: str) -> Path:
    return Path(run_dir) / EVALUATION_DIR / f"{which}.csv"
