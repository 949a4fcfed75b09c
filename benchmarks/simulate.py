"""The real manager against thousands of simulated workers (mpismac/runtime/simulated.py).

    .venv/bin/python benchmarks/simulate.py --workers 4096 --duration 60 --scale 20 --trials 20000

Each trial lasts `--duration` seconds with lognormal jitter (`--jitter`, the sigma of its log),
divided by `--scale`: the manager then absorbs `scale` times the result rate of the real job,
so a pass here is conservative. Costs come from a cheap function of the configuration (a
shifted sphere over `--dim` floats). Reported: the workers' utilization, dispatch latency
percentiles (a worker's result due -> its next trial sent), results absorbed per second, and
rank 0's CPU share per second (median and max; above 1 the helper thread and the manager
overlap).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

import numpy as np
from ConfigSpace import ConfigurationSpace, Float

from mpismac.runtime.simulated import SimulatedWorkers, run_simulated
from mpismac.scenario import Scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1024)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per trial, before --scale")
    parser.add_argument("--jitter", type=float, default=0.2, help="sigma of the duration's lognormal factor")
    parser.add_argument("--scale", type=float, default=20.0, help="durations are divided by this")
    parser.add_argument("--trials", type=int, default=10000)
    parser.add_argument("--dim", type=int, default=6)
    parser.add_argument("--facade", default="hpo")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    cs = ConfigurationSpace({f"x{i}": Float(f"x{i}", (0.0, 1.0)) for i in range(args.dim)})
    workers = SimulatedWorkers(args.workers,
                               lambda request: args.duration * float(rng.lognormal(0.0, args.jitter)),
                               lambda config: sum((v - 0.3) ** 2 for v in config.values()), args.scale)
    with tempfile.TemporaryDirectory() as out:
        scenario = Scenario(configspace=cs, name="sim", output_directory=out, n_trials=args.trials,
                            facade=args.facade, seed=args.seed, deterministic=True, snapshot_interval=30.0)
        result, stats = run_simulated(scenario, workers, args.workers)
    lat = np.array(stats["latencies"]) * 1000
    shares = stats["cpu_shares"] or [0.0]
    print(f"{args.workers} workers, {args.duration:g} s trials / {args.scale:g} (jitter {args.jitter:g}), "
          f"{result.n_finished} trials, facade {args.facade}")
    print(f"utilization {stats['utilization']:.3f}; results {stats['results_per_s']:.0f}/s "
          f"over {stats['wall_s']:.1f} s")
    if len(lat):
        p50, p95, p99, top = np.percentile(lat, [50, 95, 99, 100])
        print(f"dispatch latency ms: p50 {p50:.2f}, p95 {p95:.2f}, p99 {p99:.2f}, max {top:.1f}")
    print(f"rank 0 CPU share per second: median {statistics.median(shares):.2f}, max {max(shares):.2f}")


if __name__ == "__main__":
    main()
