"""Checkpoint cost at growing run sizes: mpismac's journal append, durable checkpoint (append +
fsync) and HDF5 snapshot vs SMAC3 2.4.1's `RunHistory.save` (which SMAC3 runs after every trial).

    .venv/bin/python benchmarks/checkpoint_cost.py --sizes 100,1000,10000

Each size: a run of N finished trials (Branin, random configurations) is built in memory, then
mpismac records 50 more trials through its real Recorder into a temporary run folder, and both
write their whole runhistory 5 times. Medians; µs per operation.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from ConfigSpace import ConfigurationSpace

from mpismac.runhistory.folder import Recorder
from mpismac.runhistory.records import ConfigAdded, TrialEnded, TrialStarted
from mpismac.runhistory.runhistory import RunHistory
from mpismac.runhistory.snapshot import write_snapshot
from mpismac.runhistory.state import RunState
from mpismac.trial import Status, TrialInfo, TrialValue

SPACE = ConfigurationSpace({"x": (-5.0, 10.0), "y": (0.0, 15.0)}, seed=0)
STATE = {"proposals": 0, "random": {"state": "x" * 400}, "intensifier": {"queue": list(range(20))}}


def _value(rng: np.random.Generator) -> TrialValue:
    now = time.time()
    return TrialValue((float(rng.random() * 100),), Status.SUCCESS, now - 1, now, {"cpu_time": 0.5})


def _trial(rh: RunHistory, config, when: float) -> tuple[ConfigAdded, TrialStarted]:
    """The records that add a configuration and start a trial of it, as the optimizer and driver write them."""
    tid, cid = len(rh.trials), len(rh.configs)
    return (ConfigAdded(cid, dict(config), "random"),
            TrialStarted.of(TrialInfo(tid, cid, dict(config), None, 0, None), when, 1, 0, STATE))


def build(n: int) -> RunState:
    state = RunState(RunHistory(SPACE, ("cost",)), STATE)
    rng = np.random.default_rng(0)
    for config in SPACE.sample_configuration(n):
        for record in _trial(state.runhistory, config, time.time()):
            state.apply(record)
        state.apply(TrialEnded(len(state.runhistory.trials) - 1, _value(rng)))
    return state


def ours(n: int, folder: Path, extra: int = 50, repeats: int = 5) -> dict[str, float]:
    state = build(n)
    rh = state.runhistory
    recorder = Recorder(folder, "scenario: benchmark\n", state, None, snapshot_interval=float("inf"))
    rng = np.random.default_rng(1)
    appends, checkpoints = [], []
    for config in SPACE.sample_configuration(extra):
        t0 = time.perf_counter()
        for record in _trial(rh, config, time.time()):  # config + start records, applied and appended
            recorder.write(record)
        recorder.write(TrialEnded(len(rh.trials) - 1, _value(rng)))
        t1 = time.perf_counter()
        recorder.checkpoint(STATE, 1.0, 1.0)  # state record + fsync
        t2 = time.perf_counter()
        appends.append((t1 - t0) / 3)
        checkpoints.append(t2 - t0)
    snapshots = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        write_snapshot(folder / "runhistory.h5", state, "scenario: benchmark\n", recorder.journal.offset)
        snapshots.append(time.perf_counter() - t0)
    recorder.close()
    return {"append_us": statistics.median(appends) * 1e6, "trial_checkpoint_us": statistics.median(checkpoints) * 1e6,
            "snapshot_us": statistics.median(snapshots) * 1e6}


def smac3(n: int, folder: Path, repeats: int = 5) -> float | None:
    try:
        from smac.runhistory import RunHistory as SmacRunHistory
        from smac.runhistory.enumerations import StatusType
    except ImportError:
        return None
    rh = SmacRunHistory()
    rng = np.random.default_rng(0)
    for config in SPACE.sample_configuration(n):
        rh.add(config, float(rng.random() * 100), time=1.0, cpu_time=0.5, status=StatusType.SUCCESS, seed=0,
               starttime=time.time() - 1, endtime=time.time())
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        rh.save(folder / "runhistory.json")
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000")
    args = parser.parse_args()
    print("| trials | mpismac append | mpismac trial checkpoint (4 appends + fsync) | mpismac HDF5 snapshot "
          "| SMAC3 RunHistory.save (every trial) | SMAC3 save / mpismac trial checkpoint |")
    print("|---|---|---|---|---|---|")
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            mine = ours(n, Path(tmp))
        with tempfile.TemporaryDirectory() as tmp:
            theirs = smac3(n, Path(tmp))
        ratio = f"{theirs / mine['trial_checkpoint_us']:.0f}x" if theirs else "–"
        print(f"| {n} | {mine['append_us']:.0f} µs | {mine['trial_checkpoint_us']:.0f} µs | "
              f"{mine['snapshot_us'] / 1e3:.1f} ms | {theirs / 1e3 if theirs else float('nan'):.1f} ms | {ratio} |",
              flush=True)


if __name__ == "__main__":
    main()
