"""Worker utilization of multi-fidelity optimizers whose trials last in proportion to their
budget: mpismac's `multi_fidelity` (`mpiexec`, one manager + W workers) against SMAC3 2.4.1's
MultiFidelityFacade and DEHB 0.1.2, each on a Dask LocalCluster of W single-threaded worker
processes; same target, same budgets, same number of trials, in one run.

    .venv/bin/python benchmarks/mf_utilization.py --workers 8 --sleep 2.7
    .venv/bin/python benchmarks/mf_utilization.py --workers 31 --sleep 8.1

The target (`sleep_target.py:mf_branin`) sleeps budget / 27 x SLEEP_S seconds (budgets 1, 3, 9,
27: eta 3) and writes its own start and end times to a file of its process, so every tool is
measured the same way: utilization = the trials' summed time / (W x (last end - first start)),
and the same until the last trial started (without the final drain).
What is lost is lost between trials: waiting for a proposal, for a result to be collected, or
for a rung to fill.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MPIEXEC = Path(sys.executable).parent / "mpiexec"
SPACE = REPO / "examples" / "branin.json"
MIN_BUDGET, MAX_BUDGET = 1.0, 27.0


def utilization(times_dir: Path, workers: int) -> dict[str, float]:
    """From the (start, end) lines the target wrote: utilization over the whole run and until
    the last trial started (without the final drain, when workers idle because the budget is
    spent, not because the optimizer is slow), and the trials."""
    spans = [tuple(map(float, line.split())) for f in times_dir.iterdir() for line in f.read_text().splitlines()]
    first, last, last_start = min(s for s, _ in spans), max(e for _, e in spans), max(s for s, _ in spans)
    busy = sum(e - s for s, e in spans)
    steady = sum(max(0.0, min(e, last_start) - s) for s, e in spans)
    return {"utilization": busy / (workers * (last - first)),
            "until_last_start": steady / (workers * (last_start - first)), "trials": len(spans), "wall_s": last - first}


def ours(workers: int, n: int, out: Path) -> None:
    scenario = out / "scenario.yaml"
    scenario.write_text(f"name: mfu\noutput_directory: {out}\ntarget: {HERE / 'sleep_target.py'}:mf_branin\n"
                        f"configspace: {SPACE}\nfacade: multi_fidelity\nmin_budget: {MIN_BUDGET}\n"
                        f"max_budget: {MAX_BUDGET}\nn_trials: {n}\ndeterministic: true\n")
    subprocess.run([str(MPIEXEC), "-n", str(workers + 1), sys.executable, "-m", "mpismac", str(scenario), "--quiet"],
                   check=True, capture_output=True)


def _cluster(workers: int):
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=workers, processes=True, threads_per_worker=1, dashboard_address=None)
    return cluster, Client(cluster)


def smac3(workers: int, n: int, out: Path) -> None:
    from ConfigSpace import ConfigurationSpace
    from sleep_target import mf_branin
    from smac import MultiFidelityFacade
    from smac import Scenario as SmacScenario

    cs = ConfigurationSpace.from_json(SPACE)
    scenario = SmacScenario(cs, deterministic=True, n_trials=n, min_budget=MIN_BUDGET, max_budget=MAX_BUDGET,
                            output_directory=out / "smac", seed=0)
    cluster, client = _cluster(workers)
    try:
        MultiFidelityFacade(scenario, mf_branin, intensifier=MultiFidelityFacade.get_intensifier(scenario, eta=3),
                            dask_client=client, overwrite=True, logging_level=40).optimize()
    finally:
        client.close()
        cluster.close()


def dehb(workers: int, n: int, out: Path) -> None:
    from ConfigSpace import ConfigurationSpace
    from dehb import DEHB
    from loguru import logger
    from sleep_target import mf_branin_dehb

    logger.remove()
    cs = ConfigurationSpace.from_json(SPACE)
    cluster, client = _cluster(workers)
    try:
        DEHB(f=mf_branin_dehb, cs=cs, dimensions=len(cs), min_fidelity=MIN_BUDGET, max_fidelity=MAX_BUDGET, eta=3,
             client=client, seed=0, output_path=str(out / "dehb"), save_freq="end").run(fevals=n)
    finally:
        client.close()
        cluster.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--sleep", type=float, default=2.7, help="seconds of a trial at max_budget")
    parser.add_argument("--trials", type=int, default=0, help="per tool (default: 20 x workers)")
    parser.add_argument("--tools", default="ours,smac3-mf,dehb")
    args = parser.parse_args()
    n = args.trials or 20 * args.workers
    sys.path.insert(0, str(HERE))
    runs = {"ours": ours, "smac3-mf": smac3, "dehb": dehb}
    for tool in args.tools.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            times = out / "times"
            times.mkdir()
            os.environ.update(SLEEP_S=str(args.sleep), MF_TIMES_DIR=str(times))
            load = os.getloadavg()[0]
            t0 = time.time()
            runs[tool](args.workers, n, out)
            row = {"tool": tool, "workers": args.workers, "sleep_s": args.sleep, "n_trials": n,
                   "load_before": round(load, 1), "run_s": round(time.time() - t0, 1),
                   **utilization(times, args.workers)}
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
