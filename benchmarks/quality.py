"""Sample efficiency and optimizer cost: mpismac vs SMAC3 2.4.1, same functions, seeds and
budget, in one run.

    .venv/bin/python benchmarks/quality.py --seeds 10 --trials 100 [--smac hpo,blackbox] [--problems ...]

Reports per problem the median and IQR of log10(regret), regret floored at 1e-6, and the
optimizer's CPU time per trial (total process CPU of the optimizer loop / trials; the targets
are cheap). Every optimizer runs in this process through its ask/tell interface.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from problems import PROBLEMS  # noqa: E402


def run_mpismac(facade: str, problem: str, seed: int, n: int) -> tuple[float, float]:
    from mpismac import Optimizer, Scenario

    make_cs, f, _ = PROBLEMS[problem]
    opt = Optimizer(Scenario(configspace=make_cs(), facade=facade, n_trials=n, seed=seed, deterministic=True))
    t0 = time.process_time()
    spent = 0.0
    for _ in range(n):
        info = opt.ask()
        t1 = time.process_time()
        cost = f(info.config)
        spent += time.process_time() - t1
        opt.tell(info, cost)
    return opt.incumbent.cost[0], (time.process_time() - t0 - spent) / n


def run_smac(facade: str, problem: str, seed: int, n: int) -> tuple[float, float]:
    from smac import BlackBoxFacade, HyperparameterOptimizationFacade
    from smac import Scenario as SmacScenario
    from smac.runhistory.dataclasses import TrialValue

    make_cs, f, _ = PROBLEMS[problem]
    with tempfile.TemporaryDirectory() as tmp:
        scenario = SmacScenario(make_cs(), deterministic=True, n_trials=n, seed=seed, output_directory=Path(tmp))
        cls = HyperparameterOptimizationFacade if facade == "hpo" else BlackBoxFacade
        smac = cls(scenario, f, overwrite=True, logging_level=40)
        t0 = time.process_time()
        spent, best = 0.0, float("inf")
        for _ in range(n):
            info = smac.ask()
            t1 = time.process_time()
            cost = f(info.config)
            spent += time.process_time() - t1
            best = min(best, cost)
            smac.tell(info, TrialValue(cost=cost))
        return best, (time.process_time() - t0 - spent) / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--mpismac", default="hpo,random")
    parser.add_argument("--smac", default="hpo,blackbox", help="SMAC3 facades to run beside ('' for none)")
    parser.add_argument("--json", help="also write the raw results to this file")
    parser.add_argument("--merge", action="append", default=[],
                        help="add the raw results of an earlier --json run (same seeds and trials) as more columns")
    args = parser.parse_args()
    runners = [(f"mpismac {f}", run_mpismac, f) for f in args.mpismac.split(",") if f]
    runners += [(f"SMAC3 {f}", run_smac, f) for f in args.smac.split(",") if f]
    raw: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for problem in args.problems.split(","):
        for name, fn, facade in runners:
            for seed in range(args.seeds):
                best, cpu = fn(facade, problem, seed, args.trials)
                raw.setdefault(problem, {}).setdefault(name, []).append((best, cpu))
            print(f"done {problem} {name}", file=sys.stderr, flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(raw))
    for path in args.merge:
        for problem, by_name in json.loads(Path(path).read_text()).items():
            for name, results in by_name.items():
                if problem in raw and name not in raw[problem]:
                    raw[problem][name] = [tuple(r) for r in results]
                    if name not in [r[0] for r in runners]:
                        runners.append((name, None, ""))
    print(f"{args.trials} trials, {args.seeds} seeds; log10(regret) median [IQR]; optimizer CPU per trial\n")
    names = [r[0] for r in runners]
    print("| problem | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    medians: dict[str, dict[str, float]] = {n: {} for n in names}
    for problem, by_name in raw.items():
        optimum = PROBLEMS[problem][2]
        cells = []
        for n in names:
            if n not in by_name:
                cells.append("")
                continue
            regrets = np.log10(np.maximum(1e-6, np.array([b for b, _ in by_name[n]]) - optimum))
            q1, med, q3 = np.percentile(regrets, [25, 50, 75])
            medians[n][problem] = med
            cpu = statistics.median(c for _, c in by_name[n])
            cells.append(f"{med:.2f} [{q1:.2f}, {q3:.2f}] {cpu * 1e3:.0f} ms")
        print(f"| {problem} | " + " | ".join(cells) + " |")
    print("\ngeometric mean of median regret, relative to the first column (on the problems both ran):")
    for n in names:
        both = [p for p in medians[n] if p in medians[names[0]]]
        ratio = np.mean([medians[n][p] - medians[names[0]][p] for p in both]) if both else float("nan")
        print(f"  {n}: {10 ** ratio:.3g}x over {len(both)} problems")


if __name__ == "__main__":
    main()
