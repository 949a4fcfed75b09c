"""Issue 15, item 3: on the real-workload suite, how much sooner do 8 workers reach the quality a
serial run has at 100 trials? mpismac `hpo` and SMAC3 2.4.1's HPO facade, in virtual time.

    .venv/bin/python benchmarks/real_parallel.py --tools ours --seeds 10
    .venv/bin/python benchmarks/real_parallel.py --tools smac3 --seeds 5 --problems svm-wine,lcbench-3945
    .venv/bin/python benchmarks/real_parallel.py --seeds 10 --table-only

Every evaluation lasts --duration virtual seconds (1 s); the problems (benchmarks/real_problems.py)
are evaluated for real but their own time is not counted. One manager, single-threaded: each ask
and tell costs the process CPU time it really took (measured here), and workers wait while the
manager is busy, so an optimizer slower than the result rate shows as idle workers. A worker that
is free gets the next ask, as SMAC3's Dask runner and mpismac's manager do (several trials are then
pending at once; both tools' asks know it). This is SMAC3's parallel loop without Dask's own
overhead, which only flatters SMAC3; mpismac's real manager refits and proposes in a helper
thread, which this single-threaded clock does not credit.

Per (problem, tool): the serial run's median quality at 100 trials is the target (quality as in
real_workloads.py: the best cost evaluated, or on *-noisy problems the incumbent's mean error on
held-out seeds). Reported: the median over seeds of the virtual time to the target, serial and
with --workers, and their ratio (the speed-up); a run that never reaches it within --max-trials
counts as its whole time and is marked censored. For SMAC3 the time its parallel runs take to
reach ours' serial target is shown too.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_problems import PROBLEMS  # noqa: E402
from real_workloads import DRIVERS, VALIDATION_SEEDS, append, load_cache  # noqa: E402

SERIAL_TRIALS = 100


def simulate(tool: str, name: str, seed: int, workers: int, max_trials: int, duration: float,
             stop_at: float | None) -> dict[str, Any]:
    """One run in virtual time; its trace is (time, quality) at every tell, until --max-trials or
    the quality reaches `stop_at`."""
    problem = PROBLEMS[name]
    validated: dict[tuple, float] = {}

    def quality(best: float) -> float:
        if problem.deterministic:
            return best
        inc = driver.incumbent()
        assert inc is not None
        key = tuple(sorted(inc[0].items()))
        if key not in validated:
            validated[key] = statistics.fmean(problem.cost(inc[0], s) for s in VALIDATION_SEEDS)
        return validated[key]

    def timed(call: Any, *args: Any) -> Any:
        nonlocal busy_until
        t0 = time.process_time()
        out = call(*args)
        busy_until = max(busy_until, now) + time.process_time() - t0
        return out

    order = itertools.count()
    running: list[tuple[float, int, Any, float]] = []  # (due, tie-break, handle, cost)
    trace: list[tuple[float, float]] = []
    busy_until = now = 0.0
    asked, best, cpu = 0, math.inf, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        driver = DRIVERS[tool](PROBLEMS[name], seed, max_trials, Path(tmp))
        while True:
            while len(running) < workers and asked < max_trials:
                start = busy_until
                handle, config, trial_seed = timed(driver.ask)
                cpu += busy_until - max(start, now)
                cost = problem.cost(config, trial_seed)
                heapq.heappush(running, (busy_until + duration, next(order), handle, cost))
                asked += 1
            if not running:
                break
            now, _, handle, cost = heapq.heappop(running)
            start = max(busy_until, now)
            timed(driver.tell, handle, cost)
            cpu += busy_until - start
            best = min(best, cost)
            trace.append((busy_until, quality(best)))
            if stop_at is not None and trace[-1][1] <= stop_at:
                break
    return {"trace": trace, "cpu_s": cpu}


def time_to(trace: list[list[float]], target: float) -> tuple[float, bool]:
    """The first time the quality is <= target (True), or the run's whole time (False: censored)."""
    for t, q in trace:
        if q <= target + 1e-12:
            return t, True
    return trace[-1][0], False


def quality_at(trace: list[list[float]], n: int) -> float:
    return trace[min(n, len(trace)) - 1][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--tools", default="ours,smac3")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--max-trials", type=int, default=300, help="of a parallel run")
    parser.add_argument("--duration", type=float, default=1.0, help="virtual seconds per evaluation")
    parser.add_argument("--cache", default=str(Path(__file__).resolve().parent / "results" / "real_parallel.jsonl"))
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    problems = [p for p in args.problems.split(",") if p]
    tools = [t for t in args.tools.split(",") if t]
    bad = [p for p in problems if p not in PROBLEMS] + [t for t in tools if t not in ("ours", "smac3")]
    if bad:
        parser.error(f"unknown: {', '.join(bad)}")
    cache = Path(args.cache)
    cache.parent.mkdir(parents=True, exist_ok=True)

    def key(tool: str, problem: str, seed: int, workers: int) -> tuple:
        n = SERIAL_TRIALS if workers == 1 else args.max_trials
        return (tool, problem, seed, n, workers, args.duration)

    def runs() -> dict[tuple, dict[str, Any]]:
        return load_runs(cache)

    def target(tool: str, problem: str) -> float | None:
        got = runs()
        serial = [got[k] for s in range(args.seeds) if (k := key(tool, problem, s, 1)) in got]
        if len(serial) < args.seeds:
            return None
        return statistics.median(quality_at(r["trace"], SERIAL_TRIALS) for r in serial)

    if not args.table_only:
        for workers in (1, args.workers):
            for problem in problems:
                for seed in range(args.seeds):
                    for tool in tools:
                        if key(tool, problem, seed, workers) in runs():
                            continue
                        stop = None
                        if workers > 1:
                            mine, ours = target(tool, problem), target("ours", problem)
                            stop = min(t for t in (mine, ours) if t is not None)
                        n = SERIAL_TRIALS if workers == 1 else args.max_trials
                        t0 = time.perf_counter()
                        record = {"tool": tool, "problem": problem, "seed": seed, "trials": n, "workers": workers,
                                  "duration": args.duration, "stop_at": stop,
                                  **simulate(tool, problem, seed, workers, n, args.duration, stop)}
                        append(cache, record)
                        print(f"done {tool} {problem} seed {seed} x{workers}: {len(record['trace'])} trials, "
                              f"{record['trace'][-1][0]:.1f} s virtual, {time.perf_counter() - t0:.0f} s",
                              file=sys.stderr, flush=True)
    print(table(runs(), tools, problems, args.seeds, args.workers, key, target))


def load_runs(path: Path) -> dict[tuple, dict[str, Any]]:
    return load_cache(path, ("tool", "problem", "seed", "trials", "workers", "duration"))


def _times(runs: list[dict[str, Any]], target: float) -> tuple[float, int]:
    """The median time to `target` over runs, and how many never reached it (counted at their end)."""
    got = [time_to(r["trace"], target) for r in runs]
    return statistics.median(t for t, _ in got), sum(not hit for _, hit in got)


def table(got: dict[tuple, dict[str, Any]], tools: list[str], problems: list[str], seeds: int, workers: int,
          key: Any, target: Any) -> str:
    def cell(t: float, censored: int) -> str:
        return f"{t:.1f}" + (f" ({censored} never)" if censored else "")

    head = "| problem | " + " | ".join(
        f"{t} target | {t} 1 worker, s | {t} {workers} workers, s | {t} speed-up" for t in tools)
    if "smac3" in tools and "ours" in tools:
        head += f" | smac3 {workers} workers to ours' target, s"
    lines = [head + " |", "|---|" + "---:|" * (head.count("|") - 1)]
    speedups: dict[str, list[float]] = {t: [] for t in tools}
    for p in problems:
        cells, complete = [], False
        for t in tools:
            goal = target(t, p)
            serial = [got[k] for s in range(seeds) if (k := key(t, p, s, 1)) in got]
            par = [got[k] for s in range(seeds) if (k := key(t, p, s, workers)) in got]
            if goal is None or len(par) < seeds:
                cells += ["–"] * 4
                continue
            complete = True
            (t1, c1), (tn, cn) = _times(serial, goal), _times(par, goal)
            speedups[t].append(t1 / tn)
            cells += [f"{goal:.4g}", cell(t1, c1), cell(tn, cn), f"{t1 / tn:.1f}x"]
        if "smac3" in tools and "ours" in tools:
            goal = target("ours", p)
            par = [got[k] for s in range(seeds) if (k := key("smac3", p, s, workers)) in got]
            cells.append(cell(*_times(par, goal)) if goal is not None and len(par) == seeds else "–")
        if complete:
            lines.append(f"| {p} | " + " | ".join(cells) + " |")
    lines.append("")
    for t in tools:
        if speedups[t]:
            gm = math.exp(statistics.fmean(math.log(x) for x in speedups[t]))
            lines.append(f"- {t}: speed-up from 1 to {workers} workers, geometric mean over {len(speedups[t])} "
                         f"problems {gm:.2f}x (min {min(speedups[t]):.1f}x, max {max(speedups[t]):.1f}x)")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
