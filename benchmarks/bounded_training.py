"""What the bounded training set costs in quality: the same serial runs with a model that
learns from at most `--cap` configurations and with no bound, at equal trials.

    .venv/bin/python benchmarks/bounded_training.py --trials 600 --cap 150 --seeds 5

The production bound (MAX_TRAINING, 4,000) only binds past 4,000 configurations, far beyond
the quality table's budgets; a cap four times below the budget shows what subsampling (the best
half plus a uniform sample of the rest) does to a run where it binds most of the time.
Reported per problem: median log10(regret) (floored at 1e-6) at the end, both ways.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from problems import PROBLEMS  # noqa: E402


def run(problem: str, seed: int, n: int) -> float:
    from mpismac import Optimizer, Scenario

    make_cs, f, best = PROBLEMS[problem]
    opt = Optimizer(Scenario(configspace=make_cs(), facade="hpo", n_trials=n, seed=seed, deterministic=True))
    for _ in range(n):
        info = opt.ask()
        opt.tell(info, f(info.config))
    return float(np.log10(max(opt.incumbent.cost[0] - best, 1e-6)))


def main() -> None:
    from mpismac.optimizer import model_bo

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=600)
    parser.add_argument("--cap", type=int, default=150)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--problems", default="hartmann6,ackley5,rosenbrock5,mixed")
    args = parser.parse_args()
    production = model_bo.MAX_TRAINING
    print(f"| problem | log10 regret at {args.trials}, no bound | with at most {args.cap} configurations |")
    print("|---|---:|---:|")
    for problem in args.problems.split(","):
        got = {}
        for cap in (10**9, args.cap):
            model_bo.MAX_TRAINING = cap
            got[cap] = statistics.median(run(problem, seed, args.trials) for seed in range(args.seeds))
        model_bo.MAX_TRAINING = production
        print(f"| {problem} | {got[10**9]:.2f} | {got[args.cap]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
