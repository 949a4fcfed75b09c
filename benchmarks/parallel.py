"""Parallel runtime figures, mpismac (mpiexec) vs SMAC3 + Dask, in one run.

    .venv/bin/python benchmarks/parallel.py --workers 4 --sleep 0.5 --repeats 3

- utilization = busy / (workers x wall), wall from the first dispatch to the end of the run,
  sleeping Branin, n_trials = 20 x workers;
- dispatch latency: a worker's trial ends -> the manager hands that worker its next trial
  (from the journal: start of trial k+1 minus end of trial k on the same worker);
- CPU of an idle rank over 10 s (one worker idles while another runs a 16 s trial).
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
REPO = HERE.parent
MPIEXEC = Path(sys.executable).parent / "mpiexec"
SPACE = REPO / "examples" / "branin.json"


def _scenario(out: Path, n: int, facade: str = "random", reproducible: bool = False) -> Path:
    path = out / "scenario.yaml"
    path.write_text(f"name: bench\noutput_directory: {out}\ntarget: {HERE / 'sleep_target.py'}:branin_sleep\n"
                    f"configspace: {SPACE}\nfacade: {facade}\nn_trials: {n}\ndeterministic: true\n"
                    f"reproducible: {str(reproducible).lower()}\n")
    return path


def mpismac_parallel(workers: int, sleep: float, out: Path, facade: str = "random",
                     reproducible: bool = False) -> dict[str, float]:
    from mpismac.runhistory.folder import load_run
    from mpismac.runhistory.journal import read_journal

    n = 20 * workers
    env = {**os.environ, "SLEEP_S": str(sleep)}
    subprocess.run([str(MPIEXEC), "-n", str(workers + 1), sys.executable, "-m", "mpismac",
                    str(_scenario(out, n, facade, reproducible)), "--quiet"], check=True, env=env,
                   capture_output=True)
    end = time.time()
    trials = sorted(load_run(out / "bench" / "0").state.runhistory.trials.values(), key=lambda r: r.start_time)
    first = trials[0].start_time
    wall = max(r.end_time for r in trials) - first
    busy = sum(r.end_time - r.start_time for r in trials)
    refits = [(r["started"], r["time"]) for r in read_journal(out / "bench" / "0" / "journal.jsonl").records
              if r["op"] == "model"]  # the manager's refits (in its thread), from start to model in place
    gaps, during = [], []
    by_worker: dict[int, list] = {}
    for r in trials:
        by_worker.setdefault(r.worker, []).append(r)
    for rs in by_worker.values():
        for a, b in zip(rs, rs[1:], strict=False):
            gaps.append(b.start_time - a.end_time)
            if any(s0 < b.start_time and a.end_time < s1 for s0, s1 in refits):
                during.append(gaps[-1])
    out_ = {"utilization": busy / (workers * wall), "utilization_to_exit": busy / (workers * (end - first)),
            **_latency(gaps, "latency"), "refits": len(refits)}
    if during:
        out_.update(_latency(during, "latency_refitting"))
    return out_


def _latency(gaps: list[float], name: str) -> dict[str, float]:
    gaps = sorted(gaps)
    return {f"{name}_median_ms": 1e3 * statistics.median(gaps),
            f"{name}_p99_ms": 1e3 * gaps[int(0.99 * (len(gaps) - 1))], f"{name}_n": len(gaps)}


def smac_dask(workers: int, sleep: float, out: Path, facade: str) -> dict[str, float]:
    from ConfigSpace import ConfigurationSpace
    from dask.distributed import Client, LocalCluster
    from smac import HyperparameterOptimizationFacade, RandomFacade
    from smac import Scenario as SmacScenario

    sys.path.insert(0, str(HERE))
    from sleep_target import branin_sleep

    os.environ["SLEEP_S"] = str(sleep)
    n = 20 * workers
    cs = ConfigurationSpace.from_json(SPACE)
    scenario = SmacScenario(cs, deterministic=True, n_trials=n, output_directory=out / "smac", seed=0)
    cluster = LocalCluster(n_workers=workers, processes=True, threads_per_worker=1, dashboard_address=None)
    client = Client(cluster)
    cls = HyperparameterOptimizationFacade if facade == "hpo" else RandomFacade
    smac = cls(scenario, branin_sleep, dask_client=client, overwrite=True, logging_level=40)
    start = time.time()
    smac.optimize()
    wall = time.time() - start
    busy = sum(v.endtime - v.starttime for v in smac.runhistory.values())
    client.close()
    cluster.close()
    return {"utilization": busy / (workers * wall)}


def idle_rank_cpu(out: Path) -> dict[str, float]:
    """Two workers, two trials: one sleeps 16 s, the other 0.1 s; measured from 4 s (start-up done) for 10 s."""
    path = out / "idle.yaml"
    path.write_text(f"name: idle\noutput_directory: {out}\ntarget: {HERE / 'idle_target.py'}:uneven\n"
                    f"configspace: {SPACE}\nfacade: random\nn_trials: 2\ndeterministic: true\n")
    proc = subprocess.Popen([str(MPIEXEC), "-n", "3", sys.executable, "-m", "mpismac", str(path), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(4.0)

    def ranks() -> dict[int, float]:
        found = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                if b"mpismac\x00" + str(path).encode() in cmd and b"mpiexec" not in cmd:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    found[int(pid)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except OSError:
                pass
        return found

    before = ranks()
    time.sleep(10.0)
    after = ranks()
    proc.wait()
    used = sorted((after[p] - before[p]) / 10.0 for p in before if p in after)
    return {"idle_worker_core_fraction": used[0], "busiest_other_rank_core_fraction": used[-1]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--sleep", type=float, default=0.5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-smac", action="store_true")
    parser.add_argument("--facade", default="random", help="mpismac's facade")
    parser.add_argument("--reproducible", action="store_true", help="also run mpismac in reproducible mode")
    parser.add_argument("--no-idle", action="store_true", help="skip the idle-rank measurement")
    args = parser.parse_args()
    rows: dict[str, list[dict[str, float]]] = {}
    for rep in range(args.repeats):
        runs = [(f"mpismac {args.facade}", lambda o: mpismac_parallel(args.workers, args.sleep, o, args.facade))]
        if args.reproducible:
            runs.append((f"mpismac {args.facade} reproducible", lambda o: mpismac_parallel(
                args.workers, args.sleep, o, args.facade, reproducible=True)))
        if not args.no_smac:
            runs += [("SMAC3+Dask RandomFacade", lambda o: smac_dask(args.workers, args.sleep, o, "random")),
                     ("SMAC3+Dask HPO facade", lambda o: smac_dask(args.workers, args.sleep, o, "hpo"))]
        for name, fn in runs:
            with tempfile.TemporaryDirectory() as tmp:
                rows.setdefault(name, []).append(fn(Path(tmp)))
        print(f"repeat {rep + 1}/{args.repeats} done", file=sys.stderr)
    idle = None
    if not args.no_idle:
        with tempfile.TemporaryDirectory() as tmp:
            idle = idle_rank_cpu(Path(tmp))
    print(f"{args.workers} workers, trials sleep {args.sleep} s, n_trials {20 * args.workers}, "
          f"median of {args.repeats} runs\n")
    keys = ["utilization", "utilization_to_exit", "latency_median_ms", "latency_p99_ms",
            "latency_refitting_median_ms", "latency_refitting_p99_ms", "latency_refitting_n", "refits"]
    print("| runtime | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for name, results in rows.items():
        cells = [f"{statistics.median(r[k] for r in results if k in r):.3g}" if any(k in r for r in results)
                 else "-" for k in keys]  # a repeat with no refit during the run has no refit latencies
        print(f"| {name} | " + " | ".join(cells) + " |")
    if "SMAC3+Dask HPO facade" in rows:
        mine = statistics.median(r["utilization"] for r in rows[f"mpismac {args.facade}"])
        for other in ("SMAC3+Dask RandomFacade", "SMAC3+Dask HPO facade"):
            theirs = statistics.median(r["utilization"] for r in rows[other])
            print(f"\nutilization mpismac / {other}: {mine / theirs:.2f}x")
    if idle is None:
        return
    print(f"\nidle worker rank over 10 s: {100 * idle['idle_worker_core_fraction']:.2f}% of a core; "
          f"busiest other rank (manager, or the worker watching its 16 s trial): "
          f"{100 * idle['busiest_other_rank_core_fraction']:.2f}%")


if __name__ == "__main__":
    main()
