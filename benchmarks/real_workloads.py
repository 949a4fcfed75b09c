"""Real workloads, kept apart from quality.py's synthetic table: mpismac's `hpo` facade against
SMAC3 2.4.1's HyperparameterOptimizationFacade and Optuna 5.0's TPESampler, same problems, seeds
and trials, each through its ask/tell interface in this process.

    .venv/bin/python benchmarks/real_workloads.py --seeds 10 --trials 100
    .venv/bin/python benchmarks/real_workloads.py --seeds 10 --problems hgb-digits,hgb-digits-noisy  # a share
    .venv/bin/python benchmarks/real_workloads.py --seeds 10 --table-only                            # cache only

Problems (benchmarks/real_problems.py; every cost a validation error in [0, 1]): LCBench at epoch
52 on its ten development tasks (lcbench-TASK), SVMs on wine and breast_cancer (svm-wine, svm-bc),
HistGradientBoosting and an MLP on digits (hgb-digits, mlp-digits), a scaler x model pipeline on
breast_cancer (pipe-bc), each cross-validated with a fixed split; and the five scikit-learn ones
noisy (*-noisy: the split and the model's seed follow the trial's seed; the tools run with
deterministic=False, so mpismac and SMAC3 race configurations over seeds; TPE evaluates each
configuration once, on a seed of its own; TPESampler's defaults, univariate, define-by-run so
that an inactive conditional hyperparameter is never asked for).

Quality at 50 and 100 trials (and at --trials): the value of the tool's incumbent then.
Deterministic problems: the best cost evaluated so far. Noisy problems: the mean error of the
tool's incumbent (its own choice: mpismac's and SMAC3's incumbent, Optuna's best trial)
re-evaluated on held-out seeds 1000..1004 ("validated"), so a lucky split does not count. The
optimum is unknown, so regret = value - the best value any run of any tool in the cache reached
on that problem (same --trials), floored at 1e-4 (errors closer than 0.01 percentage points are
ties: less than one sample of these datasets, and than the surrogate resolves), so that two tools
that both reach the best value tie instead of dividing by noise; the median raw error is shown
beside it. The optimizer's CPU per trial is the process CPU time of its ask and tell calls over
the trials.

The cache (--cache, JSON lines) gets one record per (tool, problem, seed, trials) when the run
ends: the cost of every trial, the incumbent's cost as the tool reports it after each trial, the
incumbent and its value at each checkpoint, and the CPU per trial. Runs already in it are
skipped, so a benchmark can be split over processes (the same --cache) and resumed.
"""

from __future__ import annotations

import os

os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")  # one core per run

import argparse
import fcntl
import json
import math
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from ConfigSpace import Configuration, ConfigurationSpace

sys.path.insert(0, str(Path(__file__).resolve().parent))
from problems import optuna_distributions  # noqa: E402
from real_problems import PROBLEMS, RealProblem  # noqa: E402

TOOLS = ("ours", "smac3", "tpe")
CHECKPOINTS = (50, 100)
VALIDATION_SEEDS = tuple(range(1000, 1005))
FLOOR = 1e-4  # regret below this is a tie (see the docstring)
GROUPS = ("all", "lcbench", "sklearn", "sklearn noisy")  # of problems, for the ratios


def group_of(problem: str) -> str:
    return "lcbench" if problem.startswith("lcbench-") else "sklearn noisy" if problem.endswith("-noisy") else "sklearn"


def _space(problem: RealProblem, seed: int) -> ConfigurationSpace:
    cs = problem.space()
    cs.seed(seed)
    return cs


def _plain(config: dict[str, Any]) -> dict[str, Any]:
    """Configuration values as JSON's types (ConfigSpace hands out numpy scalars)."""
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in config.items()}


# -- tools: built from (problem, seed, trials, a temporary folder for SMAC3's output) ------------------


class Driver(Protocol):
    def ask(self) -> tuple[Any, dict[str, Any], int]:
        """(a handle for tell, the configuration's values, the trial's seed)"""

    def tell(self, handle: Any, cost: float) -> None: ...

    def incumbent(self) -> tuple[dict[str, Any], float] | None:
        """The tool's incumbent and its cost as the tool reports it (None: none yet)."""


class Ours:
    def __init__(self, problem: RealProblem, seed: int, n: int, tmp: Path):
        from mpismac import Optimizer, Scenario

        self.opt = Optimizer(
            Scenario(
                configspace=_space(problem, seed),
                facade="hpo",
                n_trials=n,
                seed=seed,
                deterministic=problem.deterministic,
            )
        )

    def ask(self) -> tuple[Any, dict[str, Any], int]:
        info = self.opt.ask()
        return info, dict(info.config), info.seed

    def tell(self, handle: Any, cost: float) -> None:
        self.opt.tell(handle, cost)

    def incumbent(self) -> tuple[dict[str, Any], float] | None:
        inc = self.opt.incumbent
        return None if inc is None else (dict(inc.config), inc.cost[0])


def _never(config: Configuration, seed: int = 0) -> float:
    raise RuntimeError("ask/tell only")


class Smac3:
    def __init__(self, problem: RealProblem, seed: int, n: int, tmp: Path):
        from smac import HyperparameterOptimizationFacade
        from smac import Scenario as SmacScenario

        scenario = SmacScenario(
            _space(problem, seed), deterministic=problem.deterministic, n_trials=n, seed=seed, output_directory=tmp
        )
        self.facade = HyperparameterOptimizationFacade(scenario, _never, overwrite=True, logging_level=40)

    def ask(self) -> tuple[Any, dict[str, Any], int]:
        info = self.facade.ask()
        return info, dict(info.config), 0 if info.seed is None else info.seed

    def tell(self, handle: Any, cost: float) -> None:
        from smac.runhistory.dataclasses import TrialValue

        self.facade.tell(handle, TrialValue(cost=cost))

    def incumbent(self) -> tuple[dict[str, Any], float] | None:
        inc = self.facade.intensifier.get_incumbent()
        return None if inc is None else (dict(inc), float(self.facade.runhistory.get_cost(inc)))


class Tpe:
    """Optuna's TPE, define-by-run: a conditional hyperparameter is asked for only when active. A
    trial's seed (noisy problems) is drawn from the run's seed and the trial's number."""

    def __init__(self, problem: RealProblem, seed: int, n: int, tmp: Path):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.cs = _space(problem, seed)
        self.distributions = optuna_distributions(self.cs)  # in the space's order: parents first
        self.seed = seed
        self.study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))

    def _active(self, name: str, values: dict[str, Any]) -> bool:
        return all(p.name in values for p in self.cs.parents_of[name]) and all(
            c.satisfied_by_value(values) for c in self.cs.parent_conditions_of[name]
        )

    def ask(self) -> tuple[Any, dict[str, Any], int]:
        from optuna.distributions import CategoricalDistribution, FloatDistribution

        trial = self.study.ask()
        values: dict[str, Any] = {}
        for name, d in self.distributions.items():
            if not self._active(name, values):
                continue
            if isinstance(d, FloatDistribution):
                values[name] = trial.suggest_float(name, d.low, d.high, log=d.log)
            elif isinstance(d, CategoricalDistribution):
                values[name] = trial.suggest_categorical(name, d.choices)
            else:
                values[name] = trial.suggest_int(name, d.low, d.high, log=d.log)
        return trial, values, int(np.random.SeedSequence([self.seed, trial.number]).generate_state(1)[0])

    def tell(self, handle: Any, cost: float) -> None:
        self.study.tell(handle, cost)

    def incumbent(self) -> tuple[dict[str, Any], float] | None:
        best = self.study.best_trial
        return dict(best.params), float(best.values[0])


DRIVERS: dict[str, Callable[[RealProblem, int, int, Path], Driver]] = {"ours": Ours, "smac3": Smac3, "tpe": Tpe}


# -- one run ---------------------------------------------------------------------------------------


def checkpoints(trials: int) -> list[int]:
    return sorted({c for c in CHECKPOINTS if c <= trials} | {trials})


def run(tool: str, name: str, seed: int, trials: int) -> dict[str, Any]:
    """One tool on one problem for `trials` trials: costs, the incumbent after each trial, its
    value at each checkpoint (validated on held-out seeds when the problem is noisy), CPU per trial."""
    problem = PROBLEMS[name]
    validated: dict[tuple, float] = {}  # the incumbent often stays the same from one checkpoint to the next

    def validate(config: dict[str, Any]) -> float:
        key = tuple(sorted(config.items()))
        if key not in validated:
            validated[key] = statistics.fmean(problem.cost(config, s) for s in VALIDATION_SEEDS)
        return validated[key]

    costs: list[float] = []
    reported: list[float | None] = []
    marks: dict[str, dict[str, Any]] = {}
    cpu = 0.0
    at = checkpoints(trials)
    with tempfile.TemporaryDirectory() as tmp:
        driver = DRIVERS[tool](problem, seed, trials, Path(tmp))
        for i in range(1, trials + 1):
            t0 = time.process_time()
            handle, config, trial_seed = driver.ask()
            cpu += time.process_time() - t0
            cost = problem.cost(config, trial_seed)
            t0 = time.process_time()
            driver.tell(handle, cost)
            cpu += time.process_time() - t0
            costs.append(cost)
            inc = driver.incumbent()
            reported.append(None if inc is None else inc[1])
            if i in at:
                assert inc is not None, f"{tool} has no incumbent after {i} trials"
                value = min(costs) if problem.deterministic else validate(inc[0])
                marks[str(i)] = {"incumbent": _plain(inc[0]), "reported": inc[1], "value": value}
    return {"costs": costs, "incumbent_costs": reported, "checkpoints": marks, "cpu_per_trial_s": cpu / trials}


# -- cache and table -------------------------------------------------------------------------------

Key = tuple[str, str, int, int]


def load_cache(path: Path, fields: tuple[str, ...] = ("tool", "problem", "seed", "trials")) -> dict[tuple, Any]:
    """The cache's records by the values of `fields` (a later line replaces an earlier one)."""
    runs: dict[tuple, dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                runs[tuple(r[f] for f in fields)] = r
    return runs


def append(path: Path, record: dict[str, Any]) -> None:
    """One line per run, under a lock: processes that share the cache do not mix their lines."""
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.write(json.dumps(record) + "\n")


def _median(values: Iterable[float]) -> float:
    v = list(values)
    return statistics.median(v) if v else math.nan


def _geomean_ratio(a: dict[str, float], b: dict[str, float], group: str) -> tuple[float, int]:
    """The geometric mean of a / b over the problems of `group` that both have, and how many."""
    both = [p for p in a if p in b and group in ("all", group_of(p))]
    return (math.exp(statistics.fmean(math.log(a[p] / b[p]) for p in both)) if both else math.nan), len(both)


def table(runs: dict[Key, dict[str, Any]], tools: list[str], problems: list[str], seeds: int, trials: int) -> str:
    marks = [str(c) for c in checkpoints(trials)]
    lines = [
        f"{trials} trials, {seeds} seeds. Median regret at {', '.join(marks)} trials (median raw validation "
        "error); regret = value - the best value any run of any tool in the cache reached on that problem "
        f"(column 'best'), floored at {FLOOR:g}. Value: deterministic problems the best cost evaluated; "
        f"*-noisy the incumbent's mean error on held-out seeds {VALIDATION_SEEDS[0]}..{VALIDATION_SEEDS[-1]}.",
        "",
        "| problem | best | " + " | ".join(f"{t} @{m}" for t in tools for m in marks) + " |",
        "|---|---|" + "---|" * (len(tools) * len(marks)),
    ]
    # (tool, checkpoint) -> problem -> the median regret, the median raw error
    regrets: defaultdict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    errors: defaultdict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    cpu: dict[str, list[float]] = {t: [] for t in tools}
    for p in problems:
        everyone = [r for (_, q, _, n), r in runs.items() if q == p and n == trials]
        if not everyone:
            continue
        best = min(r["checkpoints"][m]["value"] for r in everyone for m in marks)
        cells = []
        for t in tools:
            got = [runs[(t, p, s, trials)] for s in range(seeds) if (t, p, s, trials) in runs]
            cpu[t] += [r["cpu_per_trial_s"] for r in got]
            for m in marks:
                if not got:
                    cells.append("–")
                    continue
                values = [r["checkpoints"][m]["value"] for r in got]
                regret, error = _median(max(FLOOR, v - best) for v in values), _median(values)
                regrets[(t, m)][p], errors[(t, m)][p] = regret, error
                short = f" [{len(got)} of {seeds} seeds]" if len(got) < seeds else ""
                cells.append(f"{regret:.3g} ({error:.3g}){short}")
        lines.append(f"| {p} | {best:.4g} | " + " | ".join(cells) + " |")
    others = [t for t in tools if t != "ours"] if "ours" in tools else []
    if others:
        lines += [
            "",
            "Geometric mean over problems of the ratio of median regrets (of median raw errors), < 1: ours lower:",
        ]
    for other in others:
        for group in GROUPS:
            parts, n = [], 0
            for m in marks:
                ratio, n = _geomean_ratio(regrets[("ours", m)], regrets[(other, m)], group)
                raw, _ = _geomean_ratio(errors[("ours", m)], errors[(other, m)], group)
                parts.append(f"@{m} {ratio:.3g} ({raw:.3g})")
            if n:
                lines.append(f"- ours / {other}, {group} ({n} problems): " + ", ".join(parts))
        for m in marks:
            mine, theirs = regrets[("ours", m)], regrets[(other, m)]
            worse = [p for p in mine if p in theirs and mine[p] > theirs[p]]
            lines.append(f"- ours behind {other} @{m} on {len(worse)}: {', '.join(worse) or 'none'}")
    lines += [
        "",
        "Optimizer CPU per trial, median over runs: "
        + ", ".join(f"{t} {_median(cpu[t]) * 1e3:.1f} ms" for t in tools if cpu[t]),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--cache", default=str(Path(__file__).resolve().parent / "results" / "real_workloads.jsonl"))
    parser.add_argument("--table-only", action="store_true", help="print the table from the cache, run nothing")
    args = parser.parse_args()
    problems = [p for p in args.problems.split(",") if p]
    tools = [t for t in args.tools.split(",") if t]
    bad = [p for p in problems if p not in PROBLEMS] + [t for t in tools if t not in TOOLS]
    if bad:
        parser.error(f"unknown: {', '.join(bad)}; problems: {', '.join(PROBLEMS)}; tools: {', '.join(TOOLS)}")
    cache = Path(args.cache)
    if not args.table_only:
        cache.parent.mkdir(parents=True, exist_ok=True)
        for seed in range(args.seeds):
            for problem in problems:
                for tool in tools:
                    if (tool, problem, seed, args.trials) in load_cache(cache):
                        continue
                    t0 = time.perf_counter()
                    record = {
                        "tool": tool,
                        "problem": problem,
                        "seed": seed,
                        "trials": args.trials,
                        **run(tool, problem, seed, args.trials),
                    }
                    record["wall_s"] = time.perf_counter() - t0
                    append(cache, record)
                    final = record["checkpoints"][str(args.trials)]["value"]
                    print(
                        f"done {tool} {problem} seed {seed}: value {final:.4g}, {record['wall_s']:.0f} s",
                        file=sys.stderr,
                        flush=True,
                    )
    print(table(load_cache(cache), tools, problems, args.seeds, args.trials))


if __name__ == "__main__":
    main()
