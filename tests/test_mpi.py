"""Master-worker with real `mpiexec` jobs (oversubscribed on this 2-core machine)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from mpismac.report import summarize
from mpismac.runhistory.folder import load_run

from .conftest import DATA, REPO, figure, mpirun, needs_mpiexec, process_gone, start_mpi, terminate_ranks

pytestmark = needs_mpiexec


def _scenario(tmp_path: Path, target: str, **keys) -> Path:
    keys = {"name": "t", "output_directory": str(tmp_path / "out"), "facade": "random", "n_trials": 20,
            "configspace": str(REPO / "examples" / "branin.json"), **keys}
    path = tmp_path / "scenario.yaml"
    path.write_text(f"target: {target}\n" + "".join(f"{k}: {v}\n" for k, v in keys.items()))
    return path


def _trials(tmp_path: Path):
    return load_run(tmp_path / "out" / "t" / "0").state.runhistory.trials


def test_results_from_every_worker_in_one_run_folder(tmp_path):
    proc = mpirun(4, "-m", "mpismac", str(_scenario(tmp_path, f"{DATA / 'targets.py'}:sleepy", n_trials=24)),
                  "--quiet")
    assert proc.returncode == 0, proc.stderr
    trials = _trials(tmp_path)
    assert sorted(trials) == list(range(24)) and all(r.status.name == "SUCCESS" for r in trials.values())
    assert set(Counter(r.worker for r in trials.values())) == {1, 2, 3}
    workers = summarize(tmp_path / "out" / "t" / "0")["workers"]  # what `report` shows per worker
    assert sorted(workers) == ["1", "2", "3"] and sum(w["trials"] for w in workers.values()) == 24
    assert all(0.2 < w["utilization"] <= 1 and w["busy_s"] >= 0.3 * w["trials"] for w in workers.values())
    logs = tmp_path / "out" / "t" / "0" / "logs"
    assert {p.name for p in logs.iterdir()} >= {"rank0.log", "worker1.out", "worker2.out", "worker3.out"}


def test_failing_targets_in_parallel_on_8_ranks(tmp_path):
    # deterministic: every trial a new configuration, the same 40 whatever the order of results
    path = _scenario(tmp_path, f"{DATA / 'targets.py'}:mixed", n_trials=40, trial_walltime_limit=3,
                     trial_memory_limit=400, crash_cost=1000, deterministic="true")
    proc = mpirun(8, "-m", "mpismac", str(path), "--quiet", timeout=300)
    assert proc.returncode == 0, proc.stderr
    trials = _trials(tmp_path)
    statuses = Counter(r.status.name for r in trials.values())
    assert len(trials) == 40 and statuses["RUNNING"] == 0
    assert statuses["SUCCESS"] and statuses["CRASHED"] and statuses["TIMEOUT"] and statuses["MEMORYOUT"], statuses
    assert len({r.worker for r in trials.values()}) >= 5


def test_scenario_error_exits_2_and_rank_0_alone_reports_it(tmp_path):
    proc = mpirun(4, "-m", "mpismac", str(_scenario(tmp_path, f"{DATA / 'targets.py'}:zero")), "--set",
                  "n_trials=-1")
    assert proc.returncode == 2
    assert proc.stderr.count("key 'n_trials'") == 1 and "Traceback" not in proc.stderr


def test_target_import_error_on_workers_exits_2(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import no_such_module_xyz\n\ndef f(config):\n    return 0.0\n")
    proc = mpirun(3, "-m", "mpismac", str(_scenario(tmp_path, f"{bad}:f")))
    assert proc.returncode == 2 and "no_such_module_xyz" in proc.stderr and "Traceback (most" not in proc.stderr


def test_a_worker_rank_loads_no_scipy_sklearn_h5py_or_numpy(tmp_path):
    # Each trial reads the shared objects its worker rank has mapped: rank 0 reads the scenario and
    # sends the workers what they need, so a worker rank imports neither ConfigSpace (and scipy with
    # it) nor the runhistory (h5py) nor the optimizer (scikit-learn).
    proc = mpirun(3, "-m", "mpismac", str(_scenario(tmp_path, f"{DATA / 'targets.py'}:rank_libraries", n_trials=6,
                                                        facade="hpo")), "--quiet")
    assert proc.returncode == 0, proc.stderr
    trials = _trials(tmp_path).values()
    assert len(trials) == 6 and all(r.status.name == "SUCCESS" for r in trials)
    assert len({r.additional_info["rank_pid"] for r in trials}) == len({r.worker for r in trials})
    assert all(r.additional_info["rank_packages"] == [] for r in trials), \
        {r.worker: r.additional_info["rank_packages"] for r in trials}


def _trial_processes_writing_to(folder: Path) -> set[int]:
    """Live processes whose stdout is a log file in `folder` (this job's trial processes)."""
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/fd/1").startswith(str(folder)) and not process_gone(int(pid)):
                found.add(int(pid))
        except OSError:
            pass
    return found


def test_sigterm_stops_every_rank_and_a_resume_on_other_ranks_completes(tmp_path):
    path = _scenario(tmp_path, f"{DATA / 'targets.py'}:drowsy", n_trials=36)  # long enough for a slow reader
    journal = tmp_path / "out" / "t" / "0" / "journal.jsonl"
    proc = start_mpi(4, path)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and (not journal.exists() or journal.read_text().count('"op":"end"') < 6):
        time.sleep(0.05)
    live = subprocess.run([sys.executable, "-m", "mpismac", "report", str(journal.parent), "--json"],
                          capture_output=True, text=True, timeout=60)  # a reader while the job writes
    assert live.returncode == 0, live.stderr
    live = json.loads(live.stdout)
    assert live["running_job"] is not None and live["trials"] >= 6 and live["status"]["RUNNING"] >= 1, live
    out, err, took = terminate_ranks(proc, path)
    assert proc.returncode == 3, err
    assert took < 25, took  # seconds on an idle machine (the figure); a loaded one is slower
    figure(f"mpiexec -n 4: SIGTERM twice to every rank -> every rank exited 3 in {took:.2f} s")
    first = _trials(tmp_path)
    statuses = Counter(r.status.name for r in first.values())
    assert 6 <= len(first) < 36, statuses
    assert statuses["RUNNING"] >= 1, f"trials in flight are recorded as RUNNING: {statuses}, {out[-500:]}"

    proc = mpirun(3, "-m", "mpismac", str(path), "--quiet")  # another number of ranks
    assert proc.returncode == 0, proc.stderr
    trials = _trials(tmp_path)
    assert sorted(trials) == list(range(36)) and all(r.status.name == "SUCCESS" for r in trials.values())


def test_internal_error_on_a_worker_aborts_the_job(tmp_path):
    path = _scenario(tmp_path, f"{DATA / 'targets.py'}:sleepy", n_trials=100)
    start = time.monotonic()
    proc = mpirun(4, str(DATA / "faulty_worker.py"), str(path), "--quiet", timeout=60)
    assert proc.returncode not in (0, 2, 3), proc.stderr
    assert "internal error on rank" in proc.stderr and "fault injected" in proc.stderr
    assert time.monotonic() - start < 20
    deadline = time.monotonic() + 10  # the sentinels act as soon as they are scheduled
    while _trial_processes_writing_to(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _trial_processes_writing_to(tmp_path) == set()  # the aborted ranks' trial processes died with them
    assert 1 <= len(_trials(tmp_path)) < 100  # what was done before the abort is in the folder


USER_PROGRAM = textwrap.dedent('''
    import json, sys
    from mpi4py import MPI
    from mpismac import Scenario, optimize
    sys.path.insert(0, sys.argv[2])
    import targets

    world = MPI.COMM_WORLD
    color = 0 if world.rank < 3 else 1          # ranks 0-2 optimize, rank 3 does its own work
    sub = world.Split(color, world.rank)
    if color == 0:
        scenario = Scenario.from_yaml(sys.argv[1])
        result = optimize(targets.sleepy, scenario, comm=sub, show_progress=False)
        line = json.dumps({"world": world.rank, "cost": result.cost, "n": result.n_finished,
                           "incumbent": result.incumbent})
    else:
        line = json.dumps({"world": world.rank, "other": sub.allreduce(1)})
    world.Barrier()                              # the user's own collectives still work afterwards
    lines = world.gather(line, root=0)
    if world.rank == 0:
        print("\\n".join(lines), flush=True)
''')


def test_sub_communicator_inside_a_user_program(tmp_path):
    program = tmp_path / "user_program.py"
    program.write_text(USER_PROGRAM)
    path = _scenario(tmp_path, f"{DATA / 'targets.py'}:sleepy", n_trials=15)
    proc = mpirun(4, str(program), str(path), str(DATA))
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    optimizers = [r for r in rows if "cost" in r]
    assert len(optimizers) == 3 and all(r["n"] == 15 for r in optimizers)
    assert len({json.dumps([r["cost"], r["incumbent"]]) for r in optimizers}) == 1  # same result everywhere
    assert {r["world"] for r in rows if "other" in r} == {3}
    assert set(Counter(r.worker for r in _trials(tmp_path).values())) == {1, 2}


def _catches(pid: int, signum: int) -> bool:
    """Whether the process has a handler for the signal (its SigCgt mask)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    except OSError:
        pass
    return False


def _rank0_pid(path: Path) -> int | None:
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(path).encode() in cmd and b"mpiexec" not in cmd and b"PMI_RANK=0" in env:
            return int(pid)
    return None


@pytest.mark.parametrize("delay", [0.3, 1.0])
def test_ctrl_c_during_start_up_ends_every_rank(tmp_path, delay):
    """An interrupt while rank 0 is still importing must not leave the other ranks waiting."""
    path = _scenario(tmp_path, f"{DATA / 'targets.py'}:sleepy", n_trials=50)
    proc = start_mpi(3, path)
    deadline = time.monotonic() + 30
    while ((pid := _rank0_pid(path)) is None or not _catches(pid, signal.SIGUSR1)) and time.monotonic() < deadline:
        time.sleep(0.01)  # mpismac's first lines ran (no program can act on a signal before its interpreter has)
    assert pid is not None
    time.sleep(delay)
    os.kill(pid, signal.SIGINT)
    try:
        proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the job hung after an early interrupt") from None
    assert proc.returncode == 3


def test_the_model_learns_under_mpi_even_with_instant_trials(tmp_path):
    """With trials so short that some worker always waits, the manager must still refit."""
    path = _scenario(tmp_path, f"{DATA / 'targets.py'}:quadratic", facade="hpo", n_trials=50, deterministic="true")
    proc = mpirun(4, "-m", "mpismac", str(path), "--quiet")
    assert proc.returncode == 0, proc.stderr
    rh = load_run(tmp_path / "out" / "t" / "0").state.runhistory
    origins = Counter(rh.origins)
    assert origins["acquisition"] + origins["local"] >= 28, origins  # of 44 proposals after the initial design


def _sequence(tmp_path: Path, ranks: int) -> list:
    out = tmp_path / f"r{ranks}"
    out.mkdir()
    path = _scenario(out, f"{DATA / 'targets.py'}:jittery", facade="hpo", n_trials=26, reproducible="true",
                     reproducible_lag=8, seed=3)
    args = ["-m", "mpismac", str(path), "--quiet"]
    proc = mpirun(ranks, *args) if ranks > 1 else subprocess.run([sys.executable, *args], capture_output=True,
                                                                   text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    rh = load_run(out / "out" / "t" / "3").state.runhistory
    return [(rh.configs[r.config_id], r.seed) for r in sorted(rh.trials.values(), key=lambda r: r.trial_id)]


def test_reproducible_mode_gives_the_same_sequence_on_any_number_of_ranks(tmp_path):
    serial = _sequence(tmp_path, 1)
    assert len(serial) == 26
    for ranks in (2, 8):
        assert _sequence(tmp_path, ranks) == serial, ranks


def test_workers_get_their_node_local_rank_and_own_gpus(tmp_path):
    path = _scenario(tmp_path, f"{DATA / 'targets.py'}:placement", n_trials=12, gpus_per_worker=2)
    proc = mpirun(4, "-m", "mpismac", str(path), "--quiet")
    assert proc.returncode == 0, proc.stderr
    seen = {(r.worker, r.additional_info["MPISMAC_WORKER"], r.additional_info["MPISMAC_LOCAL_RANK"],
             r.additional_info["CUDA_VISIBLE_DEVICES"]) for r in _trials(tmp_path).values()}
    assert seen == {(1, "1", "0", "0,1"), (2, "2", "1", "2,3"), (3, "3", "2", "4,5")}



def _straggler_running(journal: Path, min_ends: int, behind: int = 4) -> bool:
    """At least `min_ends` trials ended and a slow one (running for over 0.3 s) is at least
    `behind` trials older than the newest started trial: proposals now wait for it."""
    if not journal.exists():
        return False
    from mpismac.runhistory.journal import read_journal

    records = read_journal(journal).records
    ended = {r["trial"] for r in records if r["op"] == "end"}
    started = {r["trial"]: r["time"] for r in records if r["op"] == "start"}
    now = time.time()
    newest = max(started, default=0)
    return len(ended) >= min_ends and any(now - t > 0.3 and k + behind <= newest
                                          for k, t in started.items() if k not in ended)


def test_reproducible_run_resumes_when_later_trials_finished_first(tmp_path):
    """A straggler cut by the stop must run again first; proposals wait for it, not the other way round."""
    path = _scenario(tmp_path, f"{DATA / 'targets.py'}:stragglers", n_trials=30, reproducible="true",
                     reproducible_lag=4)
    journal = tmp_path / "out" / "t" / "0" / "journal.jsonl"
    proc = start_mpi(4, path)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not _straggler_running(journal, min_ends=8):
        time.sleep(0.02)
    terminate_ranks(proc, path, times=1)
    assert proc.returncode == 3
    assert any(r.status.name == "RUNNING" for r in _trials(tmp_path).values())
    proc = mpirun(4, "-m", "mpismac", str(path), "--quiet", timeout=120)
    assert proc.returncode == 0, proc.stderr
    trials = _trials(tmp_path)
    assert sorted(trials) == list(range(30)) and all(r.status.name == "SUCCESS" for r in trials.values())


def test_a_stop_while_the_workers_still_import_their_target_ends_the_job_at_once(tmp_path):
    """The workers' target takes 'forever' to import: SIGTERM to every rank stops the job within
    seconds (exit 3), not after an import or a timeout."""
    slow = tmp_path / "slow_import.py"
    slow.write_text("import time\ntime.sleep(1000)\n\ndef f(config):\n    return 0.0\n")
    path = _scenario(tmp_path, f"{slow}:f", n_trials=5)
    proc = start_mpi(3, path)
    deadline = time.monotonic() + 60
    while len(_trial_processes_writing_to(tmp_path / "out")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # both workers' trial processes are importing
    assert proc.poll() is None
    out, err, took = terminate_ranks(proc, path, times=1)
    figure(f"mpiexec -n 3, workers importing a slow target: SIGTERM to every rank -> exit in {took:.2f} s")
    assert proc.returncode == 3, err
    assert took < 15, took
    deadline = time.monotonic() + 10
    while _trial_processes_writing_to(tmp_path / "out") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _trial_processes_writing_to(tmp_path / "out") == set()
