"""`mode: groups`: master-worker groups whose managers share their runs, in real `mpiexec` jobs."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from mpismac.errors import UserError
from mpismac.report import summarize
from mpismac.runhistory.folder import load_run, parts
from mpismac.runtime.groups import Layout

from .conftest import DATA, REPO, ended_and_running, figure, mpirun, needs_mpiexec, start_mpi, terminate_ranks


def _scenario(tmp_path: Path, **keys) -> Path:
    keys = {"target": f"{DATA / 'targets.py'}:sleepy", "name": "g", "output_directory": str(tmp_path / "out"),
            "deterministic": "true", "mode": "groups", "n_trials": 40, "psmac": "{exchange_interval: 0.3}",
            "configspace": str(REPO / "examples" / "branin.json"), **keys}
    path = tmp_path / "g.yaml"
    path.write_text("".join(f"{k}: {v}\n" for k, v in keys.items()))
    return path


def _parts(run_dir: Path):
    return {int(p[4:]): load_run(run_dir, p).state.runhistory for p in parts(run_dir)}


def test_layout_splits_ranks_into_contiguous_groups_or_one_per_node():
    three = Layout.of(["n0"] * 24, 3)
    assert three.managers == (0, 8, 16) and three.members(1) == list(range(8, 16))
    assert Layout.of(["n0"] * 7, 2).colors == (0, 0, 0, 0, 1, 1, 1)
    per_node = Layout.of(["a", "a", "a", "b", "b"], None)
    assert per_node.managers == (0, 3) and not per_node.is_manager(4)
    # two groups on one node: their workers never get the same node-local index (GPUs)
    shared = Layout.of(["n0"] * 6, 2)
    assert [shared.local_index(r) for r in (1, 2, 4, 5)] == [0, 1, 2, 3]
    for hosts, groups in ((["n0"] * 5, 3), (["n0"] * 3, 5), (["a", "b", "b"], None)):
        with pytest.raises(UserError, match="g.yaml: key 'groups'.*leave a group without a worker"):
            Layout.of(hosts, groups, "g.yaml")


@needs_mpiexec
def test_three_groups_of_eight_share_runs_and_report_as_one_run(tmp_path):
    path = _scenario(tmp_path, groups=3, n_trials=90, target=f"{DATA / 'targets.py'}:rank_libraries")
    started = time.monotonic()
    proc = mpirun(24, "-m", "mpismac", str(path), timeout=300)
    took = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("incumbent cost") == 1 and "(90 trials, stopped by n_trials)" in proc.stdout
    run_dir = tmp_path / "out" / "g" / "0"
    rhs = _parts(run_dir)
    assert sorted(rhs) == [0, 1, 2]  # one part per manager
    for g, rh in rhs.items():
        own = [r for r in rh.trials.values() if not r.shared]
        assert len(own) == 30 and all(r.status.name == "SUCCESS" for r in own)
        assert {r.worker for r in own} <= set(range(8 * g + 1, 8 * g + 8))  # its own group's workers
        assert all(r.additional_info["rank_packages"] == [] for r in own)  # worker ranks stay light
        shared = Counter(r.source for r in rh.trials.values() if r.shared)
        assert set(shared) == {f"rank{o}" for o in range(3) if o != g}, shared  # the others' runs feed it
    summary = summarize(run_dir)
    assert summary["trials"] == 90 and len(summary["workers"]) >= 15  # 21 workers, nearly all used
    best = min(r.cost[0] for rh in rhs.values() for r in rh.trials.values())
    assert summary["incumbent"]["cost"] == [best]
    figure(f"groups mpiexec -n 24 as 3 groups of 8: 90 trials of 0.3 s in {took:.1f} s; "
           f"{len(summary['workers'])} of 21 workers used")


@needs_mpiexec
def test_sigterm_stops_every_group_and_a_resume_on_more_groups_completes_the_budget(tmp_path):
    path = _scenario(tmp_path, groups=2, n_trials=30, target=f"{DATA / 'targets.py'}:drowsy")
    run_dir = tmp_path / "out" / "g" / "0"
    proc = start_mpi(6, path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not ended_and_running(run_dir, 6):
        time.sleep(0.05)
    out, err, took = terminate_ranks(proc, path)
    assert proc.returncode == 3, err
    figure(f"groups mpiexec -n 6 as 2 groups: SIGTERM twice to every rank -> every rank exited 3 in {took:.2f} s")
    first = _parts(run_dir)
    statuses = Counter(r.status.name for rh in first.values() for r in rh.trials.values() if not r.shared)
    assert statuses["RUNNING"] >= 1 and 6 <= sum(statuses.values()) < 30, statuses

    proc = mpirun(6, "-m", "mpismac", str(path), "--quiet", "--set", "groups=3", timeout=300)
    assert proc.returncode == 0, proc.stderr
    rhs = _parts(run_dir)
    assert sorted(rhs) == [0, 1, 2]
    done = Counter(r.status.name for rh in rhs.values() for r in rh.trials.values() if not r.shared)
    assert done == {"SUCCESS": 30}, done  # the job's total: what was cut short ran again, nothing twice
    for g in (0, 1):  # trials in flight at the signal ran again in their part, under their ids
        cut = [t for t, r in first[g].trials.items() if r.status.name == "RUNNING" and not r.shared]
        assert all(rhs[g].trials[t].status.name == "SUCCESS" for t in cut)
    jobs = [json.loads(line.rsplit("\t", 1)[0]) for line in (run_dir / "journal.rank0.jsonl").open()]
    assert [j["ranks"] for j in jobs if j["op"] == "job"] == [6, 6]
    assert summarize(run_dir)["trials"] == 30


@needs_mpiexec
def test_a_target_that_does_not_load_ends_every_group_with_one_message(tmp_path):
    path = _scenario(tmp_path, groups=2, target=f"{DATA / 'targets.py'}:no_such_function")
    proc = mpirun(4, "-m", "mpismac", str(path))
    assert proc.returncode == 2, proc.stderr
    assert "cannot load the target" in proc.stderr and "no_such_function" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
