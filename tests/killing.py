"""Kill campaign: SIGKILL real `mpiexec -n 4` runs at random moments, many inside writes, and check
after every kill that the run folder opens and holds every trial that was durable before it.

Rank 0 announces its writes through a write observer (tests/data/traced_run.py), each stretched
by a pause: a journal record half written, a snapshot half built or written but not swapped in.
A kill aimed at a write waits for its `B` line and lands within the pause; the trace then proves
where it landed (a `B` with no `E` after it), and its `E sync` lines list the trials made
durable, so "nothing lost" is checked against what the killed job itself
reported. Used by tests/test_crash_safety.py (a couple of dozen kills) and, run as a script, for
the long campaign reported in benchmarks/README.md:

    python -m tests.killing --kills 120
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from mpismac.runhistory.folder import load_run
from mpismac.runhistory.journal import read_journal

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parent.parent
MPIEXEC = Path(sys.executable).parent / "mpiexec"
MARKER = "MPISMAC_KILL_CAMPAIGN"
TRACED_RUN = DATA / "traced_run.py"
PAUSE = 0.04  # seconds each traced write is held open
RANKS = 4
# How a kill is placed: aimed at a write of rank 0 (killing rank 0 or every rank), or at a random moment.
PLANS = ("append:rank0", "append:all", "snapshot:rank0", "snapshot:all", "random:rank0", "random:worker",
         "random:all")


@dataclass
class Kill:
    plan: str
    inside: str | None = None  # "append" / "snapshot" when the kill landed inside that write
    opened: bool = True
    lost: list[int] = field(default_factory=list)
    survivors: list[int] = field(default_factory=list)  # processes of the run left alive
    job_exit: int | None = None
    completed: bool = False  # the job finished the run before the kill came


def scenario(folder: Path, n_trials: int) -> Path:
    path = folder / "scenario.yaml"
    path.write_text(
        f"target: {DATA / 'targets.py'}:brief\n"
        f"configspace: {REPO / 'examples' / 'branin.json'}\n"
        f"name: k\noutput_directory: {folder / 'out'}\nfacade: random\nn_trials: {n_trials}\n"
        "snapshot_interval: 0.25\n")
    return path


def run_dir(folder: Path) -> Path:
    return folder / "out" / "k" / "0"


class Trace:
    """Rank 0's write trace, read as it grows."""

    def __init__(self, path: Path):
        self.path, self._pos = path, 0
        self.pid: int | None = None
        self.begun: Counter[str] = Counter()
        self.open: str | None = None  # kind of a write begun and not ended
        self.durable: set[int] = set()

    def poll(self) -> None:
        try:
            with open(self.path, "rb") as f:
                f.seek(self._pos)
                data = f.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1
        self._pos += end
        for line in data[:end].decode().splitlines():
            tag, rest = line.split(" ", 1)
            if tag == "P":
                self.pid = int(rest)
            elif tag == "B":
                kind = rest.split()[0]
                self.begun[kind] += 1
                self.open = kind
            elif tag == "E":
                parts = rest.split(" ", 2)
                self.open = None
                if parts[0] == "sync" and len(parts) == 3:
                    self.durable.update(json.loads(parts[2]))


def _processes(folder: Path) -> dict[int, list[bytes]]:
    """Every live process started for this campaign (launcher, ranks, trial processes), by the
    marker in its environment, with its argv."""
    marker = f"{MARKER}={folder}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if stat[0] not in ("Z", "X"):
                    found[int(entry.name)] = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
    return found


def _ranks(folder: Path) -> list[int]:
    return [pid for pid, argv in _processes(folder).items()
            if argv[:2] == [sys.executable.encode(), str(TRACED_RUN).encode()]]


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def one_kill(folder: Path, scenario_path: Path, plan: str, rng: random.Random, durable: set[int],
             index: int) -> Kill:
    """Start a job on the run folder, kill it as planned, and check the folder."""
    aim, victim = plan.split(":")
    trace = Trace(folder / f"trace{index}.txt")
    env = {**os.environ, MARKER: str(folder)}
    with open(folder / f"job{index}.err", "wb") as err:  # the job keeps its own copy
        job = subprocess.Popen([str(MPIEXEC), "-n", str(RANKS), sys.executable, str(TRACED_RUN), str(trace.path),
                                str(PAUSE), str(scenario_path), "--quiet"], env=env, stdout=subprocess.DEVNULL,
                               stderr=err, start_new_session=True)
    kill = Kill(plan)
    wanted = rng.randint(1, 15)  # kill at the wanted-th write of that kind (counted in this job)
    random_after = rng.uniform(0.0, 1.0)  # random plans: seconds after rank 0's first write
    first_write = None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and job.poll() is None:
        trace.poll()
        if trace.pid is not None and first_write is None:
            first_write = time.monotonic()
        if aim != "random" and trace.open == aim and trace.begun[aim] >= wanted:
            time.sleep(rng.uniform(0.0, 0.5 * PAUSE))
            break
        if aim == "random" and first_write is not None and time.monotonic() - first_write >= random_after:
            break
        time.sleep(0.0005)
    if job.poll() is not None:  # the job ended before the kill: the run is complete
        kill.job_exit, kill.completed = job.returncode, True
        trace.poll()
        durable |= trace.durable
        return kill
    ranks = _ranks(folder)
    if victim == "rank0":
        _kill([trace.pid] if trace.pid else [])
    elif victim == "worker":
        _kill([rng.choice([p for p in ranks if p != trace.pid])] if len(ranks) > 1 else [])
    else:
        _kill([trace.pid] + [p for p in ranks if p != trace.pid] if trace.pid else ranks)
    try:
        kill.job_exit = job.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(job.pid, signal.SIGKILL)
        kill.job_exit = job.wait()
        kill.survivors.append(job.pid)
    trace.poll()
    if trace.open is not None:  # rank 0 died inside this write (from our SIGKILL, or the launcher's)
        kill.inside = trace.open
    durable |= trace.durable
    deadline = time.monotonic() + 5  # the trial processes of killed ranks die with them
    while time.monotonic() < deadline and _processes(folder):
        time.sleep(0.05)
    kill.survivors += list(_processes(folder))
    _kill(kill.survivors)
    try:
        finished = {r.trial_id for r in load_run(run_dir(folder)).state.runhistory.finished()}
    except Exception as exc:  # noqa: BLE001 - any failure to open counts, and is reported
        print(f"kill {index} ({plan}): the folder does not open: {exc!r}", file=sys.stderr)
        kill.opened = False
        return kill
    kill.lost = sorted(durable - finished)
    return kill


def campaign(folder: Path, kills: int, n_trials: int, seed: int, plans=PLANS) -> tuple[list[Kill], dict]:
    """`kills` kills on one run folder, then a clean job that must complete the run."""
    rng = random.Random(seed)
    scenario_path = scenario(folder, n_trials)
    durable: set[int] = set()
    done = []
    for i in range(kills):
        kill = one_kill(folder, scenario_path, plans[i % len(plans)], rng, durable, i)
        if kill.completed:
            break  # the run completed before all kills were spent
        done.append(kill)
    final = subprocess.run([str(MPIEXEC), "-n", str(RANKS), sys.executable, "-m", "mpismac", str(scenario_path),
                            "--quiet"], capture_output=True, text=True, timeout=300)
    rh = load_run(run_dir(folder)).state.runhistory
    records = read_journal(run_dir(folder) / "journal.jsonl").records
    ended = [r["trial"] for r in records if r["op"] == "end"]
    result = {"final_exit": final.returncode, "final_stderr": final.stderr[-2000:], "trials": len(rh.trials),
              "finished": len(rh.finished()), "unique_ended": len(set(ended)), "ended_records": len(ended),
              "ids": sorted(rh.trials) == list(range(n_trials)), "lost_at_end": sorted(durable - set(rh.trials)),
              "jobs": len(load_run(run_dir(folder)).state.jobs)}
    return done, result


def summary(kills: list[Kill]) -> dict:
    return {"kills": len(kills), "inside_write": sum(k.inside is not None for k in kills),
            "inside_append": sum(k.inside == "append" for k in kills),
            "inside_snapshot": sum(k.inside == "snapshot" for k in kills),
            "by_plan": dict(Counter(k.plan for k in kills)),
            "failed_to_open": sum(not k.opened for k in kills), "trials_lost": sum(len(k.lost) for k in kills),
            "processes_left": sum(len(k.survivors) for k in kills)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=120)
    parser.add_argument("--n-trials", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--folder", default="/tmp/mpismac-kill-campaign")
    args = parser.parse_args()
    folder = Path(args.folder)
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    started = time.monotonic()
    kills, result = campaign(folder, args.kills, args.n_trials, args.seed)
    print(json.dumps({**summary(kills), **result, "seconds": round(time.monotonic() - started)}, indent=1))


if __name__ == "__main__":
    main()
