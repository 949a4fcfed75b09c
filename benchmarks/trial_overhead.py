"""Time per trial with a zero-cost target, serial: mpismac (trial in a child process, journal
fsync'd every trial) vs SMAC3's RandomFacade (target in-process), in one run.

    .venv/bin/python benchmarks/trial_overhead.py [--trials 300] [--repeats 3]

Per-trial time is the gap between consecutive trial completions (tell to tell), so it covers
ask, dispatch, the target call, tell and storage. Reported: median over the trials of each run,
then the median over repeats; and the ratio mpismac / SMAC3.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ConfigSpace import ConfigurationSpace


def zero(config, seed: int = 0) -> float:
    return 0.0


def space() -> ConfigurationSpace:
    return ConfigurationSpace({"x": (-5.0, 10.0), "y": (0.0, 15.0)}, seed=0)


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def mpismac_run(n: int, out: Path) -> list[float]:
    from mpismac import Scenario, optimize
    from mpismac.runhistory.journal import read_journal

    scenario = Scenario(configspace=space(), facade="random", n_trials=n, deterministic=True,
                        output_directory=str(out), name="mpismac")
    result = optimize(zero, scenario, show_progress=False)
    ends = [r["end"] for r in read_journal(result.path / "journal.jsonl").records if r["op"] == "end"]
    return gaps(ends)


def executor_round_trips(n: int, out: Path) -> list[float]:
    from mpismac.execution import Limits, TrialRequest, TrialSetup, make_executor
    from mpismac.target import function_spec

    spec, _ = function_spec(zero)
    ex = make_executor(spec, TrialSetup(space(), ("cost",), (1.0,)), Limits(walltime=60, memory_mib=4096),
                       out / "w.out")
    times = []
    for i in range(n):
        t = time.perf_counter()
        ex.submit(TrialRequest(i, 0, {"x": 1.0, "y": 1.0}, 0))
        while ex.poll(1.0) is None:
            pass
        times.append(time.perf_counter() - t)
    ex.close()
    return times


def smac_run(n: int, out: Path) -> list[float]:
    from smac import Callback, RandomFacade
    from smac import Scenario as SmacScenario

    tells: list[float] = []

    class Tells(Callback):
        def on_tell_end(self, smbo, info, value):
            tells.append(time.time())

    scenario = SmacScenario(space(), deterministic=True, n_trials=n, output_directory=out / "smac", seed=0)
    RandomFacade(scenario, zero, callbacks=[Tells()], overwrite=True, logging_level=40).optimize()
    return gaps(tells)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    names = ("mpismac serial loop", "mpismac executor round trip", "SMAC3 RandomFacade")
    rows: dict[str, list[float]] = {name: [] for name in names}
    for rep in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            rows["mpismac serial loop"].append(statistics.median(mpismac_run(args.trials, out)))
            rows["mpismac executor round trip"].append(statistics.median(executor_round_trips(args.trials, out)))
            try:
                rows["SMAC3 RandomFacade"].append(statistics.median(smac_run(args.trials, out)))
            except ImportError:
                print("SMAC3 is not installed (pip install -e '.[bench]'): no comparison", file=sys.stderr)
        print(f"repeat {rep + 1}/{args.repeats} done", file=sys.stderr)
    print(f"zero-cost target, {args.trials} trials, median per trial over the run, median of {args.repeats} runs\n")
    print("| what | ms per trial (median) | runs |")
    print("|---|---|---|")
    for name, values in rows.items():
        if values:
            runs = ", ".join(f"{v * 1e3:.2f}" for v in values)
            print(f"| {name} | {statistics.median(values) * 1e3:.2f} | {runs} |")
    if rows["SMAC3 RandomFacade"]:
        ratio = statistics.median(rows["mpismac serial loop"]) / statistics.median(rows["SMAC3 RandomFacade"])
        print(f"\nmpismac serial loop / SMAC3 RandomFacade: {ratio:.2f}x")


if __name__ == "__main__":
    main()
