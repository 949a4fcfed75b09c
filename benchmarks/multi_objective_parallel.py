"""Several objectives in parallel: how much of the front 8 workers find in the time one needs.

    .venv/bin/python benchmarks/multi_objective_parallel.py --workers 8 --sleep 0.5 --trials 50 --seeds 5

Each trial sleeps `--sleep` seconds (ZDT1 with 6 variables, DTLZ2 with 3 objectives and 7).
The serial run makes `--trials` trials; the parallel run (`mpiexec -n workers+1`, master-
worker) makes `workers` times as many. Hypervolume (reference 1.1 in every objective) of
every trial finished by wall time t, t from the first trial's start. Reported, medians over
seeds: the serial run's final hypervolume and wall time W; the parallel run's hypervolume at
W; the time the parallel run took to reach the serial run's final hypervolume, and W over it
(the speed-up to equal quality).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MPIEXEC = Path(sys.executable).parent / "mpiexec"
PROBLEMS = {"zdt1": ("zdt1_sleep", 6, 2), "dtlz2": ("dtlz2_sleep", 7, 3)}


def _run(problem: str, seed: int, workers: int, trials: int, sleep: float, out: Path) -> list[tuple[float, list]]:
    """(seconds from the first start, costs) of every finished trial, in order of end."""
    from ConfigSpace import ConfigurationSpace

    from mpismac.runhistory.folder import load_run

    target, dim, k = PROBLEMS[problem]
    out.mkdir(parents=True, exist_ok=True)
    space = out / "space.json"
    space.write_text(json.dumps(ConfigurationSpace({f"x{i}": (0.0, 1.0) for i in range(dim)}).to_serialized_dict()))
    scenario = out / "scenario.yaml"
    scenario.write_text(f"name: mo\noutput_directory: {out}\ntarget: {HERE / 'sleep_target.py'}:{target}\n"
                        f"configspace: {space}\nobjectives: {json.dumps([f'f{j}' for j in range(k)])}\n"
                        f"deterministic: true\nn_trials: {trials}\nseed: {seed}\n")
    command = [sys.executable, "-m", "mpismac", str(scenario), "--quiet"]
    if workers > 1:
        command = [str(MPIEXEC), "-n", str(workers + 1), *command]
    subprocess.run(command, check=True, capture_output=True, env={**os.environ, "SLEEP_S": str(sleep)})
    trials_done = load_run(out / "mo" / str(seed)).state.runhistory.finished()
    first = min(r.start_time for r in trials_done)
    return sorted((r.end_time - first, list(r.cost)) for r in trials_done)


def _hypervolume_by(done: list[tuple[float, list]], t: float, k: int) -> float:
    from mpismac.pareto import hypervolume

    costs = [c for end, c in done if end <= t]
    return hypervolume(np.array(costs).reshape(-1, k), [1.1] * k) if costs else 0.0


def _time_to(done: list[tuple[float, list]], target: float, k: int) -> float:
    """When the hypervolume of the finished trials first reached `target` (inf: never)."""
    from mpismac.pareto import hypervolume

    for n in range(1, len(done) + 1):
        if hypervolume(np.array([c for _, c in done[:n]]).reshape(-1, k), [1.1] * k) >= target:
            return done[n - 1][0]
    return float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--sleep", type=float, default=0.5)
    parser.add_argument("--trials", type=int, default=50, help="of the serial run; the parallel run makes workers x")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    args = parser.parse_args()
    print(f"| problem | serial HV at {args.trials} trials | serial wall W [s] | {args.workers} workers: HV at W "
          f"| {args.workers} workers: time to the serial HV [s] | speed-up to equal HV | seeds |")
    print("|---|---|---|---|---|---|---|")
    for problem in args.problems:
        k = PROBLEMS[problem][2]
        rows = []
        for seed in range(args.seeds):
            with tempfile.TemporaryDirectory() as tmp:
                serial = _run(problem, seed, 1, args.trials, args.sleep, Path(tmp) / "s")
                parallel = _run(problem, seed, args.workers, args.workers * args.trials, args.sleep, Path(tmp) / "p")
            wall = serial[-1][0]
            final = _hypervolume_by(serial, wall, k)
            reach = _time_to(parallel, final, k)
            rows.append((final, wall, _hypervolume_by(parallel, wall, k), reach, wall / reach))
            print(f"  {problem} seed {seed}: " + ", ".join(f"{v:.3f}" for v in rows[-1]), file=sys.stderr, flush=True)
        med = [statistics.median(r[i] for r in rows) for i in range(5)]
        print(f"| {problem} | {med[0]:.3f} | {med[1]:.1f} | {med[2]:.3f} | {med[3]:.1f} | {med[4]:.1f}x | "
              f"{args.seeds} |", flush=True)


if __name__ == "__main__":
    main()
