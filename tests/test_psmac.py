"""pSMAC with real `mpiexec` jobs: every rank an optimizer, sharing runs through MPI and run folders."""

from __future__ import annotations

import json
import time
from collections import Counter
from csv import DictReader
from pathlib import Path

import h5py

from mpismac.report import summarize
from mpismac.runhistory.folder import load_run, parts
from mpismac.runhistory.journal import encode
from mpismac.runtime.psmac import split_budget
from mpismac.scenario import Scenario

from .conftest import DATA, REPO, ended_and_running, figure, mpirun, needs_mpiexec, run_cli, start_mpi, terminate_ranks

pytestmark = needs_mpiexec


def _scenario(tmp_path: Path, name: str = "t", **keys) -> Path:
    keys = {"target": f"{DATA / 'targets.py'}:sleepy", "name": name, "output_directory": str(tmp_path / "out"),
            "facade": "hpo", "deterministic": "true", "mode": "psmac", "n_trials": 40,
            "configspace": str(REPO / "examples" / "branin.json"), **keys}
    path = tmp_path / f"{name}.yaml"
    path.write_text("".join(f"{k}: {v}\n" for k, v in keys.items()))
    return path


def _journal(run_dir: Path, rank: int) -> list[dict]:
    return [json.loads(line.rsplit("\t", 1)[0]) for line in (run_dir / f"journal.rank{rank}.jsonl").open()]


def _parts(run_dir: Path):
    return {int(p[4:]): load_run(run_dir, p).state.runhistory for p in parts(run_dir)}


def test_budget_split():
    assert split_budget(40, [0, 0, 0, 0], 0) == [10, 10, 10, 10]
    assert split_budget(10, [0, 0, 0], 0) == [4, 3, 3]
    # a resumed job on fewer ranks: each keeps what its part holds; the rest, less the finished
    # trials of the ranks that are gone, is split evenly
    assert split_budget(60, [12, 9], 20) == [12 + 10, 9 + 9]
    assert split_budget(30, [20, 10], 0) == [20, 10]


def test_ranks_share_runs_which_feed_models_and_races(tmp_path):
    path = _scenario(tmp_path, **{"psmac": "{exchange_interval: 0.3}"})
    proc = mpirun(4, "-m", "mpismac", str(path), "--quiet")
    assert proc.returncode == 0, proc.stderr
    run_dir = tmp_path / "out" / "t" / "0"
    rhs = _parts(run_dir)
    assert sorted(rhs) == [0, 1, 2, 3]
    best = min(r.cost[0] for rh in rhs.values() for r in rh.trials.values() if not r.shared)
    for rank, rh in rhs.items():
        own = [r for r in rh.trials.values() if not r.shared]
        assert len(own) == 10 and all(r.status.name == "SUCCESS" and r.origin_rank == rank for r in own)
        sources = Counter(r.source for r in rh.trials.values() if r.shared)
        assert set(sources) == {f"rank{r}" for r in range(4) if r != rank}, sources
        assert sum(sources.values()) == 30  # every other rank's runs, each once (never re-shared)
        # the race took the shared runs: every rank ends with the job's best configuration
        assert rh.incumbent.cost[0] == best
        models = [(r["own"], r["shared"]) for r in _journal(run_dir, rank) if r["op"] == "model"]
        assert len(models) >= 5 and models[-1][1] > models[0][1] and models[-1][1] >= 20, models
        assert all(a[1] <= b[1] for a, b in zip(models, models[1:], strict=False))
    with h5py.File(run_dir / "runhistory.rank1.h5", "r") as f:  # shared rows are marked in the file
        source = f["trials/source"].asstr()[()]
        assert sum(bool(s) for s in source) == 30 and (f["trials/origin_rank"][()][source == ""] == 1).all()
    summary = summarize(run_dir)  # `report` merges the parts: each run once, from its rank
    assert summary["trials"] == 40 and sorted(summary["workers"]) == ["0", "1", "2", "3"]
    assert summary["incumbent"]["cost"] == [best]
    csv = run_cli("export", str(run_dir), "--format", "csv", "-o", str(tmp_path / "runs.csv"))
    assert csv.returncode == 0, csv.stderr
    rows = list(DictReader((tmp_path / "runs.csv").open()))
    assert len(rows) == 40 and Counter(r["worker"] for r in rows) == {"0": 10, "1": 10, "2": 10, "3": 10}
    exchange = [r for rank in range(4) for r in _journal(run_dir, rank) if r["op"] == "exchange"]
    share = max(r["seconds"] / r["walltime"] for r in exchange)
    assert len(exchange) == 4 and all(r["rounds"] >= 5 for r in exchange) and share < 0.2
    figure(f"psmac mpiexec -n 4: {min(r['rounds'] for r in exchange)}+ exchange rounds per rank, "
           f"at most {100 * share:.2f}% of a rank's wall time in them; each rank's model ended with "
           f"{models[-1][0]} own + {models[-1][1]} shared runs")


def test_sigterm_stops_every_rank_and_a_resume_on_fewer_ranks_completes_the_budget(tmp_path):
    path = _scenario(tmp_path, n_trials=32, target=f"{DATA / 'targets.py'}:slowish")  # 1 s trials
    run_dir = tmp_path / "out" / "t" / "0"
    proc = start_mpi(4, path)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not ended_and_running(run_dir, 8):
        time.sleep(0.05)
    out, err, took = terminate_ranks(proc, path)
    assert proc.returncode == 3, err
    assert took < 25, took  # seconds on an idle machine (the figure); a loaded one is slower
    figure(f"psmac mpiexec -n 4: SIGTERM twice to every rank -> every rank exited 3 in {took:.2f} s")
    first = _parts(run_dir)
    statuses = Counter(r.status.name for rh in first.values() for r in rh.trials.values() if not r.shared)
    assert statuses["RUNNING"] >= 1 and 8 <= sum(statuses.values()) < 32, statuses

    proc = mpirun(2, "-m", "mpismac", str(path), "--quiet")  # fewer ranks: 2 and 3 are gone
    assert proc.returncode == 0, proc.stderr
    rhs = _parts(run_dir)
    done = Counter(r.status.name for rh in rhs.values() for r in rh.trials.values() if not r.shared)
    assert done["SUCCESS"] == 32, done  # the job's total, nothing run twice or lost
    for rank in (0, 1):  # their trials in flight ran again, under their ids
        assert all(r.status.name == "SUCCESS" for r in rhs[rank].trials.values())
    assert summarize(run_dir)["trials"] == 32  # in-flight trials of the gone ranks are left out


def test_two_jobs_share_through_their_run_folders(tmp_path):
    (tmp_path / "out" / "junk").mkdir(parents=True)  # not a run folder: skipped with a warning
    (tmp_path / "out" / "junk" / "scenario.yaml").write_text("configspace: [unreadable\n")
    newer = tmp_path / "out" / "newer" / "0"  # a run folder of a future mpismac: skipped with a warning
    newer.mkdir(parents=True)
    (newer / "scenario.yaml").write_text(Scenario.from_yaml(_scenario(tmp_path, name="n")).to_yaml())
    (newer / "journal.jsonl").write_bytes(encode({"op": "format", "format": "mpismac-journal", "version": 99}))
    paths = {name: _scenario(tmp_path, name=name, n_trials=24, **{"psmac": (
        "{input_dirs: ['out/*/0', 'out/junk'], input_interval: 0.3, exchange_interval: 0.3}")})
        for name in ("a", "b")}
    procs = {name: start_mpi(2, path) for name, path in paths.items()}
    for proc in procs.values():
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    dirs = {name: (tmp_path / "out" / name / "0").resolve() for name in procs}
    got = {}
    for name, other in (("a", "b"), ("b", "a")):
        rhs = _parts(dirs[name])
        assert sum(rh.n_own for rh in rhs.values()) == 24
        got[name] = Counter(r.source for rh in rhs.values() for r in rh.trials.values()
                            if r.source.startswith(str(dirs[other])))
        assert sum(got[name].values()) > 0, f"job {name} read nothing from job {other}"
        log = (dirs[name] / "logs" / "rank0.log").read_text()
        assert f"skipping {tmp_path / 'out' / 'junk'}: unreadable scenario.yaml" in log
        assert f"skipping {newer}" in log and "is newer than this mpismac reads" in log
    figure(f"psmac input_dirs, two concurrent 2-rank jobs: a read {sum(got['a'].values())} runs of b, "
           f"b read {sum(got['b'].values())} runs of a")
    # b resumed with a larger budget reads a again, and takes none of its runs twice
    proc = mpirun(2, "-m", "mpismac", str(paths["b"]), "--quiet", "--set", "n_trials=28")
    assert proc.returncode == 0, proc.stderr
    rhs = _parts(dirs["b"])
    assert sum(rh.n_own for rh in rhs.values()) == 28
    for rh in rhs.values():
        keys = [(r.source, r.origin_trial) for r in rh.trials.values() if r.source.startswith(str(dirs["a"]))]
        assert len(keys) == len(set(keys)) and len(keys) == 24


def test_walltime_limit_ends_every_rank(tmp_path):
    path = _scenario(tmp_path, n_trials=1000, walltime_limit=4)
    proc = mpirun(3, "-m", "mpismac", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "stopped by walltime_limit" in proc.stdout
    rhs = _parts(tmp_path / "out" / "t" / "0")
    assert all(rh.n_own < 100 for rh in rhs.values())
    assert proc.stderr.count("mpismac:") == proc.stderr.count("mpismac: [")  # only rank 0 logs to the terminal


def test_an_input_dir_whose_journal_does_not_replay_is_skipped(tmp_path):
    """Another job's folder with a well-formed record of a configuration off the space (an edited
    journal): skipped with one warning; the job runs to its end."""
    from mpismac.runhistory.journal import read_journal

    source = _scenario(tmp_path, name="src", n_trials=3, mode="master_worker", target=f"{DATA / 'targets.py'}:brief")
    assert run_cli(str(source), "--quiet").returncode == 0
    bad = tmp_path / "out" / "src" / "0"
    (bad / "runhistory.h5").unlink()
    records = read_journal(bad / "journal.jsonl").records
    (bad / "journal.jsonl").write_bytes(b"".join(
        encode({**r, "values": {"x": 100.0, "y": 1.0}} if r["op"] == "config" and r["id"] == 0 else r)
        for r in records))
    path = _scenario(tmp_path, name="p", n_trials=6, target=f"{DATA / 'targets.py'}:brief",
                     psmac="{input_dirs: ['out/src/0'], input_interval: 0.2}")
    proc = mpirun(2, "-m", "mpismac", str(path), "--quiet")
    assert proc.returncode == 0, proc.stderr
    log = (tmp_path / "out" / "p" / "0" / "logs" / "rank0.log").read_text()
    assert log.count(f"skipping {bad.resolve()}") == 1 and "cannot be replayed" in log
    assert sum(rh.n_own for rh in _parts(tmp_path / "out" / "p" / "0").values()) == 6


def test_a_stop_while_the_ranks_still_import_their_target_ends_the_job_at_once(tmp_path):
    """pSMAC ranks whose target takes 'forever' to import: SIGTERM to every rank stops the job
    within seconds (exit 3); no rank is left importing, none waits in an exchange round."""
    slow = tmp_path / "slow_import.py"
    slow.write_text("import time\ntime.sleep(1000)\n\ndef f(config):\n    return 0.0\n")
    path = _scenario(tmp_path, target=f"{slow}:f", n_trials=6)
    proc = start_mpi(2, path)
    logs = tmp_path / "out" / "t" / "0" / "logs"
    deadline = time.monotonic() + 60
    while len(list(logs.glob("worker*.out"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # both ranks' trial processes are importing
    time.sleep(0.5)
    assert proc.poll() is None
    out, err, took = terminate_ranks(proc, path, times=1)
    figure(f"psmac mpiexec -n 2, ranks importing a slow target: SIGTERM to every rank -> exit in {took:.2f} s")
    assert proc.returncode == 3, err
    assert took < 15, took
