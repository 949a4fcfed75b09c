"""The largest master-worker job this machine holds: `mpiexec -n N` (oversubscribed) with a
sleeping command target, once to its budget (the stop protocol) and once stopped by SIGTERM.

    .venv/bin/python benchmarks/large_job.py --ranks 128 --trials 640 --sleep 2

Reported for each run: the exit status of the job, seconds from launch to the first trial and
to the end, the ranks' and trial processes' total resident memory at its peak (sampled from
/proc), trials finished and left running, and processes of the job still alive after it ended.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MPIEXEC = Path(sys.executable).parent / "mpiexec"
PAGE = os.sysconf("SC_PAGE_SIZE")
TARGET = ["sh", "-c", 'sleep "$SLEEP_S"; echo "cost=$(( $$ % 997 ))"']  # a cost from the trial's pid


def _job_pids(marker: str) -> list[int]:
    """The job's processes: the ranks (their command line names the scenario) and their trial processes."""
    out = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()
    ranks = [int(p) for p in out if int(p) != os.getpid()]
    children = subprocess.run(["pgrep", "-P", ",".join(map(str, ranks))], capture_output=True,
                              text=True).stdout.split() if ranks else []
    return ranks + [int(p) for p in children]


def _rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1])
        except OSError:
            pass
    return total * PAGE / 2**20


def _journal(run_dir: Path) -> list[dict]:
    """Every record of the run's journal, or of all its parts (groups)."""
    return [{**json.loads(line.rsplit("\t", 1)[0]), "part": path.name}
            for path in sorted(run_dir.glob("journal*.jsonl"))
            for line in path.read_text().splitlines() if "\t" in line]


def run(ranks: int, trials: int, sleep: float, terminate_after: int | None, out: Path, groups: int) -> dict:
    name = ("stopped" if terminate_after else "complete") + (f"-{groups}-groups" if groups else "")
    scenario = out / f"{name}.yaml"
    scenario.write_text(json.dumps({
        "configspace": str(REPO / "examples" / "branin.json"), "target": TARGET, "name": name,
        "output_directory": str(out / "runs"), "n_trials": trials, "deterministic": True, "facade": "hpo",
        **({"mode": "groups", "groups": groups} if groups else {})}))
    run_dir = out / "runs" / name / "0"
    env = {**os.environ, "SLEEP_S": str(sleep)}
    launched = time.monotonic()
    job = subprocess.Popen([str(MPIEXEC), "-n", str(ranks), sys.executable, "-m", "mpismac", str(scenario), "--quiet"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    first = signalled = None
    peak = 0.0
    while job.poll() is None:
        time.sleep(0.5)
        records = _journal(run_dir)
        if first is None and any(r["op"] == "start" for r in records):
            first = time.monotonic() - launched
        peak = max(peak, _rss_mib(_job_pids(str(scenario))))
        ended = sum(r["op"] == "end" for r in records)
        if terminate_after and signalled is None and ended >= terminate_after:
            signalled = time.monotonic()
            for pid in _job_pids(str(scenario)):
                for _ in range(2):  # as SLURM does: every rank, twice
                    try:
                        os.kill(pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
    _, err = job.communicate()
    end = time.monotonic()
    time.sleep(2)
    left = _job_pids(str(scenario))
    records = _journal(run_dir)
    ended = {(r["part"], r["trial"]) for r in records if r["op"] == "end"}
    started = {(r["part"], r["trial"]) for r in records if r["op"] == "start"}
    return {"run": name, "ranks": ranks, "exit": job.returncode, "first_trial_s": first, "total_s": end - launched,
            "exit_after_sigterm_s": None if signalled is None else end - signalled, "peak_rss_mib": peak,
            "finished": len(ended), "left_running": len(started - ended), "processes_left": len(left),
            "stderr_tail": err.strip().splitlines()[-3:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ranks", type=int, default=128)
    parser.add_argument("--trials", type=int, default=640)
    parser.add_argument("--sleep", type=float, default=2.0)
    parser.add_argument("--groups", type=int, default=0, help="run in mode groups with this many groups")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for terminate_after in (None, args.ranks):
            print(json.dumps(run(args.ranks, args.trials, args.sleep, terminate_after, Path(tmp), args.groups)),
                  flush=True)


if __name__ == "__main__":
    main()
