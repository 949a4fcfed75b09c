"""Wall time until Hartmann6's best cost is <= -3.0, with 1 s sleeping evaluations: mpismac `hpo`
serial (`mpiexec -n 1`), with 1 worker (`-n 2`) and with 8 workers (`-n 9`) vs SMAC3 2.4.1's HPO
facade on a Dask LocalCluster of 8 workers, in one run.

    .venv/bin/python benchmarks/time_to_target.py --seeds 3

Time is counted from the first trial's start to the end of the first trial that reached the
target (every tool stops there: `termination_cost_threshold`), so start-up is not counted.
A run that does not reach the target within --max-trials counts as its whole wall time (marked).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MPIEXEC = Path(sys.executable).parent / "mpiexec"
TARGET = -3.0
sys.path.insert(0, str(HERE))
from problems import PROBLEMS  # noqa: E402


def _reached(records: list[tuple[float, float, float]]) -> tuple[float, bool, int]:
    """(seconds from first start to the first end with cost <= TARGET, whether reached, trials to it)."""
    first = min(s for s, _, _ in records)
    hits = sorted((e, c) for _, e, c in records if c <= TARGET)
    if not hits:
        return max(e for _, e, _ in records) - first, False, len(records)
    end = hits[0][0]
    return end - first, True, sum(e <= end for _, e, _ in records)


def mpismac(workers: int, seed: int, max_trials: int, out: Path) -> tuple[float, bool, int]:
    from mpismac.runhistory.folder import load_run
    from mpismac.space import configspace_to_json

    cs_path = out / "space.json"
    cs_path.write_text(configspace_to_json(PROBLEMS["hartmann6"][0]()))
    scenario = out / "s.yaml"
    scenario.write_text(f"name: h\noutput_directory: {out}\ntarget: {HERE / 'sleep_target.py'}:hartmann6_sleep\n"
                        f"configspace: {cs_path}\nfacade: hpo\nn_trials: {max_trials}\ndeterministic: true\n"
                        f"seed: {seed}\ntermination_cost_threshold: {TARGET}\n")
    subprocess.run([str(MPIEXEC), "-n", str(workers + 1), sys.executable, "-m", "mpismac", str(scenario), "--quiet"],
                   check=True, capture_output=True, env={**os.environ, "SLEEP_S": "1.0"})
    trials = load_run(out / "h" / str(seed)).state.runhistory.finished()
    return _reached([(r.start_time, r.end_time, r.cost[0]) for r in trials])


def smac_dask(workers: int, seed: int, max_trials: int, out: Path) -> tuple[float, bool, int]:
    from dask.distributed import Client, LocalCluster
    from sleep_target import hartmann6_sleep
    from smac import HyperparameterOptimizationFacade
    from smac import Scenario as SmacScenario

    os.environ["SLEEP_S"] = "1.0"
    scenario = SmacScenario(PROBLEMS["hartmann6"][0](), deterministic=True, n_trials=max_trials, seed=seed,
                            output_directory=out / "smac", termination_cost_threshold=TARGET)
    cluster = LocalCluster(n_workers=workers, processes=True, threads_per_worker=1, dashboard_address=None)
    client = Client(cluster)
    smac = HyperparameterOptimizationFacade(scenario, hartmann6_sleep, dask_client=client, overwrite=True,
                                            logging_level=40)
    smac.optimize()
    records = [(v.starttime, v.endtime, float(v.cost)) for v in smac.runhistory.values() if v.endtime > 0]
    client.close()
    cluster.close()
    return _reached(records)


def _label(workers: int) -> str:
    if workers == 0:
        return "mpismac hpo, serial"
    return f"mpismac hpo, {workers} worker{'s' * (workers > 1)}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-trials", type=int, default=200)
    parser.add_argument("--no-smac", action="store_true")
    parser.add_argument("--workers", default="0,1,8", help="mpismac's worker counts (0: the serial runtime)")
    args = parser.parse_args()
    runs = {_label(w): lambda s, o, w=w: mpismac(w, s, args.max_trials, o)
            for w in (int(w) for w in args.workers.split(","))}
    if not args.no_smac:
        runs["SMAC3+Dask HPO, 8 workers"] = lambda s, o: smac_dask(8, s, args.max_trials, o)
    results: dict[str, list] = {name: [] for name in runs}
    for seed in range(args.seeds):
        for name, run in runs.items():
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.time()
                results[name].append(run(seed, Path(tmp)))
                print(f"seed {seed} {name}: {results[name][-1]} ({time.time() - t0:.0f} s)", flush=True)
    print(f"\nHartmann6, best <= {TARGET}, 1 s evaluations, {args.seeds} seeds (median; per seed: seconds"
          f"[trials], * = not reached within {args.max_trials} trials)\n")
    print("| runtime | median time to target | per seed |")
    print("|---|---|---|")
    medians = {}
    for name, rs in results.items():
        medians[name] = statistics.median(t for t, _, _ in rs)
        cells = ", ".join(f"{t:.0f} s [{n}]{'' if ok else '*'}" for t, ok, n in rs)
        print(f"| {name} | {medians[name]:.1f} s | {cells} |")
    eight = medians.get(_label(8))
    for w in (0, 1):
        if medians.get(_label(w)) and eight:
            print(f"speed-up {_label(w)} -> 8 workers: {medians[_label(w)] / eight:.1f}x")
    if "SMAC3+Dask HPO, 8 workers" in medians and eight:
        print(f"SMAC3+Dask 8 workers / mpismac 8 workers: {medians['SMAC3+Dask HPO, 8 workers'] / eight:.1f}x")


if __name__ == "__main__":
    main()
