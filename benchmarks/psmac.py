"""pSMAC vs master-worker vs independent runs, at equal wall time, in one run.

Hartmann6 and Ackley-5d, every evaluation sleeping a random 0.2-2 s (so ranks drift apart),
8 evaluating processes in every mode, `hpo` facade, the same total budget:

- psmac: `mpiexec -n 8`, mode psmac (rank r optimizes with seed s + r, sharing its runs);
- master-worker: `mpiexec -n 9` (a manager and 8 workers);
- independent: 8 serial runs started together, seeds s + r, no sharing (the union's best counts).

Time is counted from each mode's first trial start. Also from the pSMAC journals: staleness (a
trial ends on one rank -> the last of the other ranks has refit its model with it) and the share
of each rank's wall time spent in exchanges.

    .venv/bin/python benchmarks/psmac.py --seeds 5 --plot benchmarks/psmac.png
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MPIEXEC = Path(sys.executable).parent / "mpiexec"
RANKS = 8
sys.path.insert(0, str(HERE))
from problems import PROBLEMS  # noqa: E402


def _scenario(out: Path, problem: str, seed: int, n_trials: int, **keys) -> Path:
    from mpismac.space import configspace_to_json

    space = out / "space.json"
    space.write_text(configspace_to_json(PROBLEMS[problem][0]()))
    path = out / f"{problem}-{seed}-{len(list(out.glob('*.yaml')))}.yaml"
    lines = {"name": "b", "output_directory": str(out / path.stem), "target": f"{HERE / 'sleep_target.py'}:drifting",
             "configspace": str(space), "facade": "hpo", "deterministic": "true", "seed": seed,
             "n_trials": n_trials, **keys}
    path.write_text("".join(f"{k}: {v}\n" for k, v in lines.items()))
    return path


def _records(run_dir: Path) -> list[tuple[float, float, float]]:
    from mpismac.runhistory.merge import load_any

    return [(r.start_time, r.end_time, r.cost[0]) for r in load_any(run_dir).state.runhistory.finished()]


def run_psmac(problem: str, seed: int, n_trials: int, interval: float, out: Path, env: dict) -> dict:
    path = _scenario(out, problem, seed, n_trials, mode="psmac",
                     psmac=f"{{exchange_interval: {interval}}}")
    subprocess.run([str(MPIEXEC), "-n", str(RANKS), sys.executable, "-m", "mpismac", str(path), "--quiet"],
                   check=True, capture_output=True, env=env)
    run_dir = out / path.stem / "b" / str(seed)
    return {"records": _records(run_dir), **_psmac_figures(run_dir)}


def run_master_worker(problem: str, seed: int, n_trials: int, out: Path, env: dict) -> dict:
    path = _scenario(out, problem, seed, n_trials)
    subprocess.run([str(MPIEXEC), "-n", str(RANKS + 1), sys.executable, "-m", "mpismac", str(path), "--quiet"],
                   check=True, capture_output=True, env=env)
    return {"records": _records(out / path.stem / "b" / str(seed))}


def run_independent(problem: str, seed: int, n_trials: int, out: Path, env: dict) -> dict:
    paths = [_scenario(out, problem, seed + r, n_trials // RANKS) for r in range(RANKS)]
    procs = [subprocess.Popen([sys.executable, "-m", "mpismac", str(p), "--quiet"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for p in paths]
    for p in procs:
        if p.wait() != 0:
            raise RuntimeError(p.stderr.read().decode())
    return {"records": [rec for r, p in enumerate(paths) for rec in _records(out / p.stem / "b" / str(seed + r))]}


def _psmac_figures(run_dir: Path) -> dict:
    """Staleness of every shared run (end on its rank -> in the model of the last other rank to
    refit with it) and each rank's share of wall time in exchanges, from the journals."""
    from mpismac.runhistory.journal import read_journal

    in_model: dict[tuple[str, int], list[float]] = {}
    exchange = []
    for journal in sorted(run_dir.glob("journal.rank*.jsonl")):
        waiting: list[tuple[tuple[str, int], float]] = []
        for r in read_journal(journal).records:
            if r["op"] == "shared":
                waiting.append(((r["source"], r["origin_trial"]), r["end"]))
            elif r["op"] == "model":
                for key, end in waiting:
                    in_model.setdefault(key, []).append(r["time"] - end)
                waiting = []
            elif r["op"] == "exchange":
                exchange.append(r["seconds"] / r["walltime"])
    staleness = [max(v) for v in in_model.values() if len(v) == RANKS - 1]
    return {"staleness": staleness, "exchange_share": exchange}


def best_at(records: list[tuple[float, float, float]], times: np.ndarray) -> np.ndarray:
    """Best cost reached by each time (seconds from the first trial's start); inf before any."""
    t0 = min(s for s, _, _ in records)
    ends = sorted((e - t0, c) for _, e, c in records)
    best, out, i = np.inf, np.full(len(times), np.inf), 0
    for j, t in enumerate(times):
        while i < len(ends) and ends[i][0] <= t:
            best = min(best, ends[i][1])
            i += 1
        out[j] = best
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--problems", default="hartmann6,ackley5")
    parser.add_argument("--trials", type=int, default=160, help="the budget of every mode (all ranks together)")
    parser.add_argument("--interval", type=float, default=0.5, help="psmac.exchange_interval")
    parser.add_argument("--plot", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    modes = {"psmac": lambda p, s, o, e: run_psmac(p, s, args.trials, args.interval, o, e),
             "master-worker": lambda p, s, o, e: run_master_worker(p, s, args.trials, o, e),
             "independent": lambda p, s, o, e: run_independent(p, s, args.trials, o, e)}
    results: dict[str, dict[str, list[dict]]] = {}
    for problem in args.problems.split(","):
        env = {**os.environ, "PROBLEM": problem}
        results[problem] = {m: [] for m in modes}
        for seed in range(args.seeds):
            for mode, run in modes.items():
                with tempfile.TemporaryDirectory() as tmp:
                    t0 = time.time()
                    res = run(problem, 10 * seed, Path(tmp), env)
                    results[problem][mode].append(res)
                    print(f"{problem} seed {seed} {mode}: best {min(c for *_, c in res['records']):.4g}, "
                          f"{len(res['records'])} trials, {time.time() - t0:.0f} s", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results))
    report(results, args)


def report(results: dict, args: argparse.Namespace) -> None:
    print(f"\n{RANKS} evaluating processes, {args.trials} trials, evaluations sleep 0.2-2 s, {args.seeds} seeds; "
          f"best cost reached by time t (median over seeds), exchange_interval {args.interval} s\n")
    curves = {}
    for problem, by_mode in results.items():
        # compare up to the time every run of every mode got to (its last trial's end)
        horizon = min(max(e for _, e, _ in r["records"]) - min(s for s, _, _ in r["records"])
                      for runs in by_mode.values() for r in runs)
        times = np.linspace(0, horizon, 200)
        curves[problem] = (times, {m: np.median([best_at(r["records"], times) for r in runs], axis=0)
                                   for m, runs in by_mode.items()})
        marks = [horizon / 4, horizon / 2, 3 * horizon / 4, horizon]
        print(f"{problem} (optimum {PROBLEMS[problem][2]}):\n")
        print("| mode | " + " | ".join(f"t = {t:.0f} s" for t in marks) + " |")
        print("|---|" + "---|" * len(marks))
        for mode, runs in by_mode.items():
            cells = []
            for t in marks:
                vals = [best_at(r["records"], np.array([t]))[0] for r in runs]
                cells.append(f"{statistics.median(vals):.3f}")
            print(f"| {mode} | " + " | ".join(cells) + " |")
        p, i = curves[problem][1]["psmac"], curves[problem][1]["independent"]
        print(f"\npsmac's median best vs independent runs' at 200 time points: better at {(p < i).sum()}, "
              f"equal at {(p == i).sum()}, worse at {(p > i).sum()}\n")
    stale = [s for by_mode in results.values() for r in by_mode["psmac"] for s in r["staleness"]]
    share = [x for by_mode in results.values() for r in by_mode["psmac"] for x in r["exchange_share"]]
    if stale:
        print(f"staleness (end on one rank -> in every other rank's model), {len(stale)} runs: median "
              f"{statistics.median(stale):.2f} s, p99 {np.percentile(stale, 99):.2f} s, max {max(stale):.2f} s "
              f"(exchange interval {args.interval} s: max / interval = {max(stale) / args.interval:.1f})")
    if share:
        print(f"time in exchanges per rank: median {100 * statistics.median(share):.2f}%, "
              f"max {100 * max(share):.2f}% of its wall time")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(curves), figsize=(6 * len(curves), 4))
        for ax, (problem, (times, by_mode)) in zip(np.atleast_1d(axes), curves.items(), strict=True):
            opt = PROBLEMS[problem][2]
            for mode, curve in by_mode.items():
                ax.plot(times, np.maximum(curve - opt, 1e-6), label=mode)
            ax.set_yscale("log")
            ax.set_xlabel("wall time from the first trial (s)")
            ax.set_ylabel("median regret of the best so far")
            ax.set_title(f"{problem}, {RANKS} processes, trials 0.2-2 s")
            ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=80)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
