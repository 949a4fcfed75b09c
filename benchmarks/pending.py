"""Pending-aware vs naive proposals with k asynchronous workers, simulated in one process.

The optimizer is driven as the MPI manager drives it (ask while k trials are pending, tell each
result as it finishes, refit after each), with trial durations drawn from 0.9-1.1 (virtual
seconds), so only the proposals differ: `aware` is mpismac's ask (the acquisition is lowered
around the pending trials), `naive` proposes as if nothing were pending. Hartmann6.

    .venv/bin/python benchmarks/pending.py --seeds 10 --workers 1,8,31

Reported per mode and k: median log10(regret) after 50 and 100 trials and at the end, median
trials and virtual time to reach -3.0, and near-duplicates: proposals of the acquisition within 0.01 (unit cube,
Euclidean) of a trial still pending when proposed. Local steps (origin `local`) are left out
of that count: they go near the best point on purpose, each from a model with more results.
"""

from __future__ import annotations

import argparse
import heapq
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from problems import PROBLEMS  # noqa: E402

TARGET = -3.0
CHECKPOINTS = (50, 100)  # trials after which the regret is reported too


def run(seed: int, k: int, aware: bool, n_trials: int) -> dict:
    from ConfigSpace import Configuration

    from mpismac import Optimizer, Scenario

    space_fn, fn, optimum = PROBLEMS["hartmann6"]
    space = space_fn()
    opt = Optimizer(Scenario(configspace=space, facade="hpo", deterministic=True, n_trials=n_trials, seed=seed),
                    auto_update=False)
    if not aware:
        propose = opt._proposer.propose
        opt._proposer.propose = lambda index, rows, count=1: propose(index, rows[:0], count)
    rng = np.random.default_rng(seed)
    running: list = []
    started = 0
    duplicates = considered = 0
    best, reached = np.inf, None
    at: dict[int, float] = {}

    def start(now: float) -> None:
        nonlocal started, duplicates, considered
        pending = [Configuration(space, values=i.config).get_array() for _, _, i in running]
        info = opt.ask()
        row = Configuration(space, values=info.config).get_array()
        if pending and info.origin != "local":
            considered += 1
            duplicates += min(np.linalg.norm(row - p) for p in pending) < 0.01
        heapq.heappush(running, (now + rng.uniform(0.9, 1.1), started, info))
        started += 1

    for _ in range(k):
        start(0.0)
    done = 0
    while running:
        now, _, info = heapq.heappop(running)
        cost = fn(info.config)
        opt.tell(info, cost)
        opt.update_model()
        done += 1
        best = min(best, cost)
        if done in CHECKPOINTS:
            at[done] = float(np.log10(max(best - optimum, 1e-6)))
        if reached is None and cost <= TARGET:
            reached = (done, now)
        if started < n_trials:
            start(now)
    return {"regret": float(np.log10(max(best - optimum, 1e-6))), "at": at, "reached": reached,
            "duplicates": duplicates / max(1, considered)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--workers", default="1,8,31")
    parser.add_argument("--trials", type=int, default=200)
    args = parser.parse_args()
    print(f"Hartmann6, {args.trials} trials, {args.seeds} seeds, simulated workers (durations 0.9-1.1)\n")
    checkpoints = [c for c in CHECKPOINTS if c < args.trials]
    print("| workers | proposals | " + "".join(f"log10 regret at {c} | " for c in checkpoints)
          + "at the end | trials to -3.0 | time to -3.0 | near-duplicates |")
    print("|---" * (6 + len(checkpoints)) + "|")
    for k in (int(w) for w in args.workers.split(",")):
        for aware in ((True,) if k == 1 else (True, False)):
            rs = [run(seed, k, aware, args.trials) for seed in range(args.seeds)]
            n_hit = sum(r["reached"] is not None for r in rs)
            trials = [r["reached"][0] if r["reached"] else args.trials for r in rs]
            times = [r["reached"][1] if r["reached"] else float("inf") for r in rs]
            at = "".join(f"{statistics.median(r['at'][c] for r in rs):.2f} | " for c in checkpoints)
            print(f"| {k} | {'aware' if aware else 'naive'} | {at}{statistics.median(r['regret'] for r in rs):.2f} | "
                  f"{statistics.median(trials):.0f} ({n_hit}/{args.seeds} reached) | {statistics.median(times):.1f} | "
                  f"{100 * statistics.mean(r['duplicates'] for r in rs):.1f}% |", flush=True)


if __name__ == "__main__":
    main()
