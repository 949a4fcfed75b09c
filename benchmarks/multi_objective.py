"""Multi-objective quality: hypervolume of all trials so far at 50, 100 and 200 trials, mpismac
against SMAC3 2.4.1 (ParEGO) and Optuna 5.0.0 (NSGA-II, TPE), same problems, seeds and budget.

    .venv/bin/python benchmarks/multi_objective.py --seeds 10 --trials 200 [--tools ...] [--problems ...]
    .venv/bin/python benchmarks/multi_objective.py --table          # the table from the cache only
    .venv/bin/python benchmarks/multi_objective.py --tools ours --fresh   # rerun mpismac alone

Every (tool, problem, seed) run is appended to the cache (`--out`, one JSON line: the costs of
every trial in trial order, wall time, optimizer CPU) as soon as it finishes; a rerun skips what
the cache holds unless `--fresh` (the cache is read again before each run, so two processes can
fill one cache), and the table takes the latest line of each run.

Problems (all minimized): ZDT1, ZDT2, ZDT3 (6 variables, reference (1.1, 1.1)), DTLZ2 (3
objectives, 7 variables, reference (1.1, 1.1, 1.1)), and a decision tree on scikit-learn's
digits (3-fold CV error and log10 of the number of leaves, reference (1.0, 3.5)). The
hypervolume is `mpismac.pareto.hypervolume` of the costs of all trials evaluated so far; the gap
is the true front's hypervolume minus that. The tree's true front is unknown: its stand-in is
the best hypervolume any run of any tool in the cache reached at the last checkpoint.

Tools, each serial and seeded, one evaluation per trial (deterministic):
- ours: `mpismac.api.optimize` with facade `hpo`, the target in mpismac's trial process; the
  costs are read from the run folder. This checkout's mpismac is used (the repository root goes
  first on sys.path). Optimizer CPU = this process's CPU over the run (the target runs in the
  trial process, whose CPU is not counted).
- smac3-parego: SMAC3's HyperparameterOptimizationFacade with ParEGO as its multi-objective
  algorithm (as in SMAC3's ParEGO example), through ask/tell.
- optuna-nsga2, optuna-tpe: Optuna's NSGAIISampler and TPESampler (multivariate), through ask/tell.
For the ask/tell tools, optimizer CPU = process CPU of the loop minus the CPU inside the target.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from ConfigSpace import Categorical, ConfigurationSpace, Float, Integer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's mpismac, in this process and (by its path) in the trial process

from problems import optuna_distributions  # noqa: E402

CHECKPOINTS = (50, 100, 200)
TOOLS = ("ours", "smac3-parego", "optuna-nsga2", "optuna-tpe")


# -- problems ---------------------------------------------------------------------------------------

def _x(config: Any, n: int) -> np.ndarray:
    return np.array([config[f"x{i}"] for i in range(n)], dtype=float)


def _zdt(config: Any, h: Callable[[float, float], float]) -> list[float]:
    x = _x(config, 6)
    f1 = float(x[0])
    g = 1.0 + 9.0 * float(np.sum(x[1:])) / (len(x) - 1)
    return [f1, g * h(f1, g)]


def zdt1(config: Any, seed: int = 0) -> list[float]:
    return _zdt(config, lambda f1, g: 1.0 - math.sqrt(f1 / g))


def zdt2(config: Any, seed: int = 0) -> list[float]:
    return _zdt(config, lambda f1, g: 1.0 - (f1 / g) ** 2)


def zdt3(config: Any, seed: int = 0) -> list[float]:
    return _zdt(config, lambda f1, g: 1.0 - math.sqrt(f1 / g) - f1 / g * math.sin(10 * math.pi * f1))


def dtlz2(config: Any, seed: int = 0) -> list[float]:
    x = _x(config, 7)
    g = float(np.sum((x[2:] - 0.5) ** 2))  # k = 5
    a, b = x[0] * math.pi / 2, x[1] * math.pi / 2
    return [(1 + g) * math.cos(a) * math.cos(b), (1 + g) * math.cos(a) * math.sin(b), (1 + g) * math.sin(a)]


_DIGITS: Any = None


def tree_digits(config: Any, seed: int = 0) -> list[float]:
    """3-fold CV error of a decision tree on digits, and log10 of the leaves of one fit on all
    the data. Deterministic: fixed folds and a fixed random_state of the tree."""
    global _DIGITS
    from sklearn.datasets import load_digits
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.tree import DecisionTreeClassifier

    if _DIGITS is None:
        _DIGITS = load_digits(return_X_y=True)
    X, y = _DIGITS

    def tree() -> DecisionTreeClassifier:
        return DecisionTreeClassifier(
            max_depth=int(config["max_depth"]), min_samples_split=int(config["min_samples_split"]),
            min_samples_leaf=int(config["min_samples_leaf"]), max_features=float(config["max_features"]),
            criterion=str(config["criterion"]), ccp_alpha=float(config["ccp_alpha"]), random_state=0)

    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    error = 1.0 - float(np.mean(cross_val_score(tree(), X, y, cv=folds)))
    return [error, math.log10(tree().fit(X, y).get_n_leaves())]


def _unit_space(n: int) -> ConfigurationSpace:
    return ConfigurationSpace({f"x{i}": (0.0, 1.0) for i in range(n)})


def _tree_space() -> ConfigurationSpace:
    cs = ConfigurationSpace()
    cs.add([
        Integer("max_depth", (1, 30)),
        Integer("min_samples_split", (2, 64), log=True),
        Integer("min_samples_leaf", (1, 32), log=True),
        Float("max_features", (0.1, 1.0)),
        Categorical("criterion", ["gini", "entropy", "log_loss"]),
        Float("ccp_alpha", (1e-6, 1e-1), log=True),
    ])
    return cs


def _front_hv_2d(f2: Callable[[np.ndarray], np.ndarray], reference: tuple[float, float], n: int = 1_000_001) -> float:
    """Hypervolume of the non-dominated part of a dense sample of f1 in [0, 1] (a 2-d sweep)."""
    f1 = np.linspace(0.0, 1.0, n)
    y = f2(f1)
    best = np.minimum.accumulate(y)
    keep = np.r_[True, y[1:] < best[:-1]]  # sorted by f1: kept when below every point to its left
    x, y = f1[keep], y[keep]
    return float(np.sum(np.diff(np.append(x, reference[0])) * (reference[1] - y)))


def _true_hv(problem: str) -> float | None:
    if problem == "zdt1":
        return 0.1 + 2 / 3 + 0.1 * 1.1  # integral of 1.1 - (1 - sqrt f1) over [0, 1], plus f1 in [1, 1.1]
    if problem == "zdt2":
        return 0.1 + 1 / 3 + 0.1 * 1.1
    if problem == "zdt3":
        return _front_hv_2d(lambda f1: 1 - np.sqrt(f1) - f1 * np.sin(10 * np.pi * f1), (1.1, 1.1))
    if problem == "dtlz2":
        return 1.1**3 - math.pi / 6  # the box less the positive eighth of the unit ball
    return None


Problem = tuple[Callable[[], ConfigurationSpace], Callable[..., list[float]], list[str], tuple[float, ...]]
# name -> (space, target, objectives' names, reference point)
PROBLEMS: dict[str, Problem] = {
    "zdt1": (lambda: _unit_space(6), zdt1, ["f1", "f2"], (1.1, 1.1)),
    "zdt2": (lambda: _unit_space(6), zdt2, ["f1", "f2"], (1.1, 1.1)),
    "zdt3": (lambda: _unit_space(6), zdt3, ["f1", "f2"], (1.1, 1.1)),
    "dtlz2": (lambda: _unit_space(7), dtlz2, ["f1", "f2", "f3"], (1.1, 1.1, 1.1)),
    "tree_digits": (_tree_space, tree_digits, ["error", "log10_leaves"], (1.0, 3.5)),
}


# -- tools: each returns (costs of every trial in trial order, optimizer CPU seconds, version) -------

def run_ours(problem: str, seed: int, n: int) -> tuple[list[list[float]], float, str]:
    from mpismac import Scenario
    from mpismac.api import optimize
    from mpismac.runhistory.merge import load_any

    make_cs, f, objectives, _ = PROBLEMS[problem]
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Scenario.from_dict({
            "name": problem, "configspace": make_cs(), "objectives": objectives, "facade": "hpo",
            "deterministic": True, "n_trials": n, "seed": seed, "output_directory": tmp})
        t0 = time.process_time()
        result = optimize(f, scenario, show_progress=False)
        cpu = time.process_time() - t0
        rh = load_any(result.path).state.runhistory
        costs = [list(rh.trials[t].cost) for t in sorted(rh.trials)]
    return costs, cpu, _mpismac_version()


def run_smac(problem: str, seed: int, n: int) -> tuple[list[list[float]], float, str]:
    import importlib.metadata

    from smac import HyperparameterOptimizationFacade
    from smac import Scenario as SmacScenario
    from smac.multi_objective.parego import ParEGO
    from smac.runhistory.dataclasses import TrialValue

    make_cs, f, objectives, _ = PROBLEMS[problem]
    with tempfile.TemporaryDirectory() as tmp:
        scenario = SmacScenario(make_cs(), objectives=objectives, deterministic=True, n_trials=n, seed=seed,
                                output_directory=Path(tmp))
        facade = HyperparameterOptimizationFacade(scenario, f, multi_objective_algorithm=ParEGO(scenario),
                                                  overwrite=True, logging_level=40)
        costs, spent = [], 0.0
        t0 = time.process_time()
        for _ in range(n):
            info = facade.ask()
            t1 = time.process_time()
            cost = f(info.config, seed=info.seed or 0)
            spent += time.process_time() - t1
            costs.append(cost)
            facade.tell(info, TrialValue(cost=cost))
        return costs, time.process_time() - t0 - spent, f"smac {importlib.metadata.version('smac')}"


def run_optuna(sampler_name: str, problem: str, seed: int, n: int) -> tuple[list[list[float]], float, str]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    make_cs, f, objectives, _ = PROBLEMS[problem]
    distributions = optuna_distributions(make_cs())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = (optuna.samplers.NSGAIISampler(seed=seed) if sampler_name == "nsga2"
                   else optuna.samplers.TPESampler(seed=seed, multivariate=True))
        study = optuna.create_study(directions=["minimize"] * len(objectives), sampler=sampler)
        costs, spent = [], 0.0
        t0 = time.process_time()
        for _ in range(n):
            trial = study.ask(distributions)
            t1 = time.process_time()
            cost = f(trial.params)
            spent += time.process_time() - t1
            costs.append(cost)
            study.tell(trial, cost)
    return costs, time.process_time() - t0 - spent, f"optuna {optuna.__version__}"


RUNNERS: dict[str, Callable[[str, int, int], tuple[list[list[float]], float, str]]] = {
    "ours": run_ours,
    "smac3-parego": run_smac,
    "optuna-nsga2": lambda p, s, n: run_optuna("nsga2", p, s, n),
    "optuna-tpe": lambda p, s, n: run_optuna("tpe", p, s, n),
}


def _mpismac_version() -> str:
    import mpismac

    where = Path(mpismac.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(where), "log", "-1", "--format=%h", "--", "mpismac"],
                                capture_output=True, text=True, check=True).stdout.strip()  # its last change
        dirty = subprocess.run(["git", "-C", str(where), "status", "--porcelain", "--", "mpismac"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"mpismac {mpismac.__version__}"
    return f"mpismac {mpismac.__version__} {commit}{' +changes' if dirty else ''}"


# -- cache and table --------------------------------------------------------------------------------

def load_cache(path: Path) -> dict[tuple[str, str, int, int], dict[str, Any]]:
    """The latest line of each (tool, problem, seed, trials)."""
    runs: dict[tuple[str, str, int, int], dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                runs[(r["tool"], r["problem"], r["seed"], r["trials"])] = r
    return runs


def hv_at(costs: list[list[float]], reference: tuple[float, ...], n: int) -> float:
    from mpismac.pareto import hypervolume

    return hypervolume(np.array(costs[:n], dtype=float), reference)


def _fmt_ratio(ours: float, peer: float) -> str:
    if peer <= 0:
        return "inf" if ours > 0 else "–"
    return f"{ours / peer:.2f}"


def table(runs: dict[tuple[str, str, int, int], dict[str, Any]], tools: list[str], problems: list[str],
          seeds: int, trials: int) -> str:
    checkpoints = [c for c in CHECKPOINTS if c < trials] + [trials]
    lines = [f"{trials} trials, seeds 0..{seeds - 1}; medians over seeds. HV = hypervolume of the costs of all "
             "trials so far (mpismac.pareto.hypervolume); gap = true front's HV − HV; ours/peer = our median gap "
             "/ the peer's; CPU = optimizer CPU per trial (ms).", ""]
    log_ratios: dict[str, dict[int, list[float]]] = {t: {c: [] for c in checkpoints} for t in tools if t != "ours"}
    cpu_all: dict[str, list[float]] = {t: [] for t in tools}
    for problem in problems:
        _, _, _, reference = PROBLEMS[problem]
        got = {t: [runs[(t, problem, s, trials)] for s in range(seeds) if (t, problem, s, trials) in runs]
               for t in tools}
        hvs = {t: {c: [hv_at(r["costs"], reference, c) for r in got[t] if len(r["costs"]) >= c] for c in checkpoints}
               for t in tools}
        true = _true_hv(problem)
        note = f"true front HV {true:.4f}" if true is not None else ""
        if true is None:  # over every run in the cache, whatever --tools and --seeds say
            best = [hv_at(r["costs"], reference, trials) for (_, p, _, n), r in runs.items() if p == problem
                    and n == trials and len(r["costs"]) >= trials]
            true = max(best) if best else float("nan")
            note = f"true front unknown: stand-in = the best HV of any run of any tool in the cache, {true:.4f}"
        lines += [f"### {problem} (reference {reference}; {note})", ""]
        head = ["tool", "seeds"] + [f"HV@{c}" for c in checkpoints] + [f"gap@{c}" for c in checkpoints]
        head += [f"ours/peer gap @{c}" for c in checkpoints] + ["CPU ms/trial"]
        lines += ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
        med_gap = {t: {c: true - statistics.median(hvs[t][c]) for c in checkpoints if hvs[t][c]} for t in tools}
        for t in tools:
            if not got[t]:
                lines.append("| " + " | ".join([t, "0"] + [""] * (len(head) - 2)) + " |")
                continue
            cells = [t, str(len(got[t]))]
            cells += [f"{statistics.median(hvs[t][c]):.4f}" if hvs[t][c] else "" for c in checkpoints]
            cells += [f"{med_gap[t][c]:.4f}" if c in med_gap[t] else "" for c in checkpoints]
            for c in checkpoints:
                if t == "ours" or c not in med_gap[t] or c not in med_gap.get("ours", {}):
                    cells.append("")
                    continue
                cells.append(_fmt_ratio(med_gap["ours"][c], med_gap[t][c]))
                if med_gap["ours"][c] > 0 and med_gap[t][c] > 0:
                    log_ratios[t][c].append(math.log(med_gap["ours"][c] / med_gap[t][c]))
            cpu = statistics.median(r["cpu_s"] / r["trials"] for r in got[t])
            cpu_all[t] += [r["cpu_s"] / r["trials"] for r in got[t]]
            cells.append(f"{cpu * 1e3:.1f}")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    if "ours" in tools:
        lines += ["### Summary", "", "Geometric mean over problems of (our median gap / the peer's median gap); "
                  "< 1: ours closer to the front.", ""]
        head = ["peer"] + [f"@{c}" for c in checkpoints] + ["problems"]
        lines += ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
        for t, by_c in log_ratios.items():
            cells = [t] + [f"{math.exp(statistics.mean(v)):.3g}" if v else "" for v in by_c.values()]
            cells.append(str(max((len(v) for v in by_c.values()), default=0)))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["Median optimizer CPU per trial over every run of the table:", "", "| tool | ms/trial | runs |",
              "|---|---|---|"]
    lines += [f"| {t} | {statistics.median(v) * 1e3:.1f} | {len(v)} |" for t, v in cpu_all.items() if v]
    versions = sorted({r["version"] for r in runs.values() if r["trials"] == trials and r["tool"] in tools})
    lines += ["", "versions: " + "; ".join(versions)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "multi_objective.jsonl"))
    parser.add_argument("--fresh", action="store_true", help="run again what the cache already holds")
    parser.add_argument("--table", action="store_true", help="only print the table from the cache")
    args = parser.parse_args()
    problems = [p for p in args.problems.split(",") if p]
    tools = [t for t in args.tools.split(",") if t]
    for name, known in (("problem", PROBLEMS), ("tool", RUNNERS)):
        bad = [x for x in (problems if name == "problem" else tools) if x not in known]
        if bad:
            parser.error(f"unknown {name}(s) {', '.join(bad)}; known: {', '.join(known)}")
    out = Path(args.out)
    if not args.table:
        out.parent.mkdir(parents=True, exist_ok=True)
        for tool in tools:  # seeds outermost: a run cut short still covers every problem
            for seed in range(args.seeds):
                for problem in problems:
                    # read before every run: another process may be filling the same cache
                    if (tool, problem, seed, args.trials) in load_cache(out) and not args.fresh:
                        continue
                    t0 = time.perf_counter()
                    costs, cpu, version = RUNNERS[tool](problem, seed, args.trials)
                    wall = time.perf_counter() - t0
                    record = {"tool": tool, "problem": problem, "seed": seed, "trials": args.trials,
                              "wall_s": wall, "cpu_s": cpu, "version": version,
                              "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                              "costs": [[float(v) for v in c] for c in costs]}
                    with out.open("a") as fh:
                        fh.write(json.dumps(record) + "\n")
                    hv = hv_at(record["costs"], PROBLEMS[problem][3], args.trials)
                    print(f"done {tool} {problem} seed {seed}: HV {hv:.4f}, {len(costs)} trials, wall {wall:.1f} s, "
                          f"optimizer CPU {cpu / args.trials * 1e3:.1f} ms/trial", file=sys.stderr, flush=True)
    print(table(load_cache(out), tools, problems, args.seeds, args.trials))


if __name__ == "__main__":
    main()
