"""Resident memory per process of a master-worker run, the heavy packages each kind has loaded,
and the time from launching `mpiexec -n K` to the first trial (and to every worker busy).

    .venv/bin/python benchmarks/worker_memory.py --ranks 4 16 64 --repeats 3

Each run: `mpiexec -n K python -m mpismac` (hpo facade) on a target that sleeps SLEEP_S s
(benchmarks/sleep_target.py:modules_sleep). Once every worker has started a trial, the RSS of
rank 0, of each worker rank and of each trial process (its target sleeping) is read from /proc;
then the run is stopped with SIGTERM. The ranks run under a wrapper that, at exit, writes which
of the heavy packages each rank had imported; the trial processes report theirs in the trials'
additional_info. Start-up times come from the journal's first `start` record. `--src DIR` runs
another copy of mpismac (a checkout of an older commit) with this script (the ranks start in it).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
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
HEAVY = ("sklearn", "scipy", "h5py", "ConfigSpace", "numpy", "matplotlib", "mpi4py", "yaml")
MARK = "mpismac-rank-wrapper"
# A rank: mpismac's command line, then at exit its heavy modules into $MODULES_DIR/rank{R}.json.
WRAPPER = (f"#{MARK}\nimport atexit, json, os, sys\n"
           "def _dump():\n"
           "    r = os.environ.get('PMI_RANK') or os.environ.get('OMPI_COMM_WORLD_RANK') or '0'\n"
           f"    names = [n for n in {HEAVY!r} if n in sys.modules]\n"
           "    with open(os.path.join(os.environ['MODULES_DIR'], f'rank{r}.json'), 'w') as f:\n"
           "        json.dump({'heavy': names, 'n_modules': len(sys.modules)}, f)\n"
           "atexit.register(_dump)\n"
           "from mpismac.cli import main\n"
           "sys.exit(main(sys.argv[1:]))\n")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE / 2**20
    except (OSError, IndexError, ValueError):
        return 0.0


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _rank(pid: int) -> int | None:
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for item in env:
        for var in (b"PMI_RANK=", b"OMPI_COMM_WORLD_RANK="):
            if item.startswith(var):
                return int(item[len(var):])
    return None


def _descendants(root: int) -> list[int]:
    parent = {int(p): _ppid(int(p)) for p in os.listdir("/proc") if p.isdigit()}
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        children = [c for c, pp in parent.items() if pp == pid]
        found += children
        stack += children
    return found


def _processes(root: int) -> tuple[dict[int, int], list[int]]:
    """(rank -> pid) of the wrapped ranks below `root` (mpiexec), and the pids of their trial
    processes (not the sentinels)."""
    ranks: dict[int, int] = {}
    trials: list[int] = []
    cmd = {p: _cmdline(p) for p in _descendants(root)}
    for pid, line in cmd.items():
        if MARK in line:
            rank = _rank(pid)
            if rank is not None:
                ranks[rank] = pid
    rank_pids = set(ranks.values())
    for pid, line in cmd.items():
        if "mpismac.execution.child" in line and _ppid(pid) in rank_pids:
            trials.append(pid)
    return ranks, trials


def _starts(journal: Path) -> list[dict]:
    out = []
    try:
        lines = journal.read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        try:
            record = json.loads(line.split("\t")[0])
        except ValueError:
            continue
        if record.get("op") == "start":
            out.append(record)
    return out


def one_run(k: int, sleep: float, src: Path, timeout: float = 600.0) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        modules = out / "modules"
        modules.mkdir()
        scenario = out / "scenario.yaml"
        scenario.write_text(f"name: mem\noutput_directory: {out}\n"
                            f"target: {HERE / 'sleep_target.py'}:modules_sleep\nconfigspace: {SPACE}\n"
                            "facade: hpo\nn_trials: 100000\ndeterministic: true\n")
        env = {**os.environ, "PYTHONPATH": str(src), "SLEEP_S": str(sleep), "MODULES_DIR": str(modules)}
        journal = out / "mem" / "0" / "journal.jsonl"
        t0 = time.time()
        argv = [str(MPIEXEC), "-n", str(k), sys.executable, "-c", WRAPPER, str(scenario), "--quiet"]
        proc = subprocess.Popen(argv, env=env, cwd=src, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)
        first = all_busy = None
        sample: dict = {}
        try:
            while time.time() - t0 < timeout and proc.poll() is None:
                time.sleep(0.2)
                starts = _starts(journal)
                if starts and first is None:
                    first = min(s["time"] for s in starts) - t0
                workers = {s.get("worker") for s in starts}
                if len(workers) >= k - 1:
                    all_busy = max(min(s["time"] for s in starts if s.get("worker") == w) for w in workers) - t0
                    time.sleep(min(0.5, sleep / 4))
                    ranks, trials = _processes(proc.pid)
                    sample = {"rank0": _rss_mib(ranks[0]) if 0 in ranks else None,
                              "workers": [_rss_mib(p) for r, p in ranks.items() if r != 0],
                              "trials": [_rss_mib(p) for p in trials]}
                    deadline = time.time() + sleep + 10  # one trial's end record, for its modules
                    while time.time() < deadline and '"op":"end"' not in journal.read_text():
                        time.sleep(0.2)
                    break
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if not sample:
            raise RuntimeError(f"-n {k}: not every worker started a trial within {timeout:g} s; "
                               f"stderr: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        rank_modules = {int(p.stem[4:]): json.loads(p.read_text()) for p in modules.glob("rank*.json")}
        infos = []
        for line in journal.read_text().splitlines():
            try:
                record = json.loads(line.split("\t")[0])
            except ValueError:
                continue
            info = record.get("info") or record.get("additional_info") or {}
            if isinstance(info, dict) and "heavy_modules" in info:
                infos.append(info)
        return {"k": k, "first_trial_s": first, "all_busy_s": all_busy, **sample,
                "rank0_modules": rank_modules.get(0, {}).get("heavy"),
                "worker_modules": sorted({tuple(v["heavy"]) for r, v in rank_modules.items() if r != 0}),
                "trial_modules": sorted({tuple(i["heavy_modules"]) for i in infos}),
                "trial_rss_reported": statistics.median(i["trial_rss_mib"] for i in infos) if infos else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[4, 16, 64])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sleep", type=float, default=2.0, help="seconds each trial sleeps")
    parser.add_argument("--src", type=Path, default=REPO, help="the mpismac checkout to run (default: this one)")
    parser.add_argument("--json", type=Path, help="also write every run's figures to this file")
    args = parser.parse_args()
    runs = []
    for k in args.ranks:
        for _ in range(args.repeats):
            run = one_run(k, args.sleep, args.src.resolve())
            runs.append(run)
            print(json.dumps({key: (round(v, 2) if isinstance(v, float) else v) for key, v in run.items()
                              if key not in ("workers", "trials")}
                             | {"worker_rss_median": round(statistics.median(run["workers"]), 1),
                                "trial_rss_median": round(statistics.median(run["trials"]), 1)}), flush=True)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    print(f"\nmedians over {args.repeats} run(s), MiB and seconds")
    print("| ranks | rank 0 RSS | worker rank RSS | trial process RSS | first trial | all workers busy |")
    print("|---:|---:|---:|---:|---:|---:|")
    for k in args.ranks:
        mine = [r for r in runs if r["k"] == k]

        def med(values):
            values = [v for v in values if v is not None]
            return statistics.median(values) if values else float("nan")
        print(f"| {k} | {med(r['rank0'] for r in mine):.0f} | "
              f"{med(statistics.median(r['workers']) for r in mine):.0f} | "
              f"{med(statistics.median(r['trials']) for r in mine):.0f} | "
              f"{med(r['first_trial_s'] for r in mine):.1f} s | {med(r['all_busy_s'] for r in mine):.1f} s |")
    last = runs[-1]
    print(f"\nheavy modules: rank 0 {last['rank0_modules']}; worker rank {last['worker_modules']}; "
          f"trial process {last['trial_modules']}")


if __name__ == "__main__":
    main()
