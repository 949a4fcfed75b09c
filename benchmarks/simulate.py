"""The real manager against thousands of simulated workers (mpismac/runtime/simulated.py).

    .venv/bin/python benchmarks/simulate.py --workers 4096 --duration 60 --scale 20 --trials 20000

Each trial lasts `--duration` seconds with lognormal jitter (`--jitter`, the sigma of its log),
divided by `--scale`: the manager then absorbs `scale` times the result rate of the real job,
so a pass here is conservative. Costs come from a cheap function of the configuration (a
shifted sphere over `--dim` floats). Reported: the workers' utilization, dispatch latency
percentiles (a worker's result due -> its next trial sent), results absorbed per second, and
rank 0's CPU share per second (median and max; above 1 the helper thread and the manager
overlap).

With `--facade multi_fidelity` a trial lasts `--duration` x its budget / the largest budget
(`--budgets MIN,MAX`, eta 3), so most trials are short: `--duration` is the length at max_budget.

Groups of managers (`mode: groups`): run it under `mpiexec -n G`; each rank is one group's real
manager with `--workers / G` simulated workers, and the managers share their runs through the
real exchange. The figures are then over all groups (latencies pooled, results/s summed, the
utilization and CPU shares of every manager).

    mpiexec -n 4 .venv/bin/python benchmarks/simulate.py --workers 4096 --duration 60 --scale 1
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

import numpy as np
from ConfigSpace import ConfigurationSpace, Float

from mpismac.runhistory.shared import SharedRun
from mpismac.runtime.simulated import SimulatedWorkers, run_simulated
from mpismac.scenario import Scenario
from mpismac.trial import Status, TrialValue
from mpismac.world import world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1024)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per trial, before --scale")
    parser.add_argument("--jitter", type=float, default=0.2, help="sigma of the duration's lognormal factor")
    parser.add_argument("--scale", type=float, default=20.0, help="durations are divided by this")
    parser.add_argument("--trials", type=int, default=10000)
    parser.add_argument("--dim", type=int, default=6)
    parser.add_argument("--facade", default="hpo")
    parser.add_argument("--budgets", default="1,81", help="multi_fidelity: MIN,MAX; a trial lasts "
                        "--duration x budget / MAX (eta 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--preload", type=int, default=0, help="finished runs the model starts with")
    parser.add_argument("--checkpoint-interval", type=int, default=1, help="results between journal fsyncs")
    parser.add_argument("--exchange-interval", type=float, default=1.0, help="groups: seconds between rounds")
    args = parser.parse_args()

    comm = world()
    groups = comm.Get_size() if comm is not None else 1
    rank = comm.Get_rank() if comm is not None else 0
    n_workers = args.workers // groups
    rng = np.random.default_rng([args.seed, rank])
    cs = ConfigurationSpace({f"x{i}": Float(f"x{i}", (0.0, 1.0)) for i in range(args.dim)}, seed=args.seed)

    def cost(config) -> float:
        return sum((v - 0.3) ** 2 for v in config.values())

    def value(config) -> TrialValue:
        return TrialValue((cost(config),), Status.SUCCESS, 0.0, 1.0)

    min_budget, max_budget = (float(b) for b in args.budgets.split(","))
    budgets = {"min_budget": min_budget, "max_budget": max_budget} if args.facade == "multi_fidelity" else {}

    def duration(request) -> float:
        share = request.budget / max_budget if request.budget is not None else 1.0
        return args.duration * share * float(rng.lognormal(0.0, args.jitter))

    workers = SimulatedWorkers(n_workers, duration, cost, args.scale)
    with tempfile.TemporaryDirectory() as tmp:
        out = comm.bcast(tmp, root=0) if comm is not None else tmp
        scenario = Scenario(configspace=cs, name="sim", output_directory=out, n_trials=args.trials,
                            facade=args.facade, seed=args.seed, deterministic=True, snapshot_interval=30.0,
                            checkpoint_interval=args.checkpoint_interval, **budgets,
                            **({"mode": "groups", "psmac": {"exchange_interval": args.exchange_interval}}
                               if comm is not None else {}))
        preload = [SharedRun(dict(c), "preload", None, 0, None, value(c), i, -1)
                   for i, c in enumerate(cs.sample_configuration(args.preload))] if args.preload else []
        _, stats = run_simulated(scenario, workers, n_workers, managers=comm, preload=preload)
        every = comm.gather(stats, root=0) if comm is not None else [stats]
        if comm is not None:
            comm.barrier()  # the folder is removed once every manager is done with it
    if rank != 0:
        return
    lat = np.concatenate([np.array(s["latencies"]) for s in every]) * 1000
    shares = [x for s in every for x in s["cpu_shares"]] or [0.0]
    utils = [s["utilization"] for s in every]
    wall = max(s["wall_s"] for s in every)
    finished = sum(s["n_finished"] for s in every)
    print(f"{args.workers} workers{f' in {groups} groups' if groups > 1 else ''}, {args.duration:g} s trials / "
          f"{args.scale:g} (jitter {args.jitter:g}), {finished} trials, facade {args.facade}, "
          f"checkpoint_interval {args.checkpoint_interval}")
    steady = [_steady_utilization(s, n_workers) for s in every]
    print(f"utilization {statistics.fmean(utils):.3f} (per manager {min(utils):.3f}..{max(utils):.3f}); "
          f"until the last trial was sent {statistics.fmean(steady):.3f} (per manager {min(steady):.3f}.."
          f"{max(steady):.3f}); "
          f"results {finished / wall:.0f}/s over {wall:.1f} s; offered "
          f"{args.workers * args.scale / args.duration:.0f}/s; observations per manager at the end "
          f"{max(s['observations'] for s in every)}")
    if len(lat):
        p50, p95, p99, top = np.percentile(lat, [50, 95, 99, 100])
        print(f"dispatch latency ms: p50 {p50:.2f}, p95 {p95:.2f}, p99 {p99:.2f}, max {top:.1f}")
    print(f"manager CPU share per second: median {statistics.median(shares):.2f}, max {max(shares):.2f}")
    fallbacks = sum(s["fallbacks"] for s in every)
    print(f"model refits {sum(s['fits'] for s in every)}; random fallbacks (no proposal ready) {fallbacks} "
          f"= {fallbacks / max(1, finished):.1%} of the trials")
    if groups == 1:
        _windows(every[0], args.preload)


def _steady_utilization(stats: dict, n_workers: int) -> float:
    """The workers' busy share from the first trial sent to the last: the run without its final
    drain, when workers go idle because the budget is spent, not because the manager is slow."""
    sent, due = np.array(stats["sent"]), np.array(stats["due"])
    start, end = sent.min(), sent.max()
    busy = np.clip(np.minimum(due, end) - np.maximum(sent, start), 0, None).sum()
    return float(busy / (n_workers * max(1e-9, end - start)))


def _windows(stats: dict, preload: int) -> None:
    """Trials sent per second and dispatch latency, over each fifth of the run (by observations)."""
    sent, lat = np.array(stats["sent"]), np.array(stats["latencies"]) * 1000
    n, first = len(sent), len(sent) - len(lat)  # the first trial of each worker has no latency
    for k in range(5):
        lo, hi = k * n // 5, (k + 1) * n // 5 - 1
        if hi <= lo:
            continue
        rate = (hi - lo) / max(1e-9, sent[hi] - sent[lo])
        window = lat[max(0, lo - first):max(0, hi - first)]
        p50 = f"{np.median(window):.2f}" if len(window) else "-"
        print(f"  observations {preload + lo:>6}..{preload + hi:<6} sent {rate:7.1f}/s  latency p50 {p50} ms")


if __name__ == "__main__":
    main()
