"""The command line end to end, in real subprocesses: run, report, resume, signals, locks."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mpismac.runhistory.journal import read_journal

from .conftest import DATA, REPO, run_cli

SPACE = """configspace:
  hyperparameters:
    - {type: uniform_float, name: x, lower: -5, upper: 10}
    - {type: uniform_float, name: y, lower: 0, upper: 15}
"""


def _scenario(tmp_path: Path, target: str, **keys) -> Path:
    keys = {"name": "t", "output_directory": str(tmp_path / "out"), "facade": "random", "n_trials": 10, **keys}
    path = tmp_path / "scenario.yaml"
    path.write_text(f"target: {target}\n" + SPACE + "".join(f"{k}: {v}\n" for k, v in keys.items()))
    return path


def _report(run_dir: Path) -> dict:
    proc = run_cli("report", str(run_dir), "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_example_runs_and_reports(tmp_path):
    proc = run_cli(str(REPO / "examples" / "branin.yaml"), "--set", f"output_directory={tmp_path}",
                   "--set", "n_trials=20", "--quiet")
    assert proc.returncode == 0, proc.stderr
    report = _report(tmp_path / "branin" / "0")
    assert report["trials"] == 20 and report["status"]["SUCCESS"] == 20
    assert 0.397 < report["incumbent"]["cost"][0] < 20
    text = run_cli("report", str(tmp_path / "branin" / "0")).stdout
    assert "incumbent  config" in text and "20 of 20" in text


def test_every_failure_recorded_while_the_run_goes_on(tmp_path):
    path = _scenario(tmp_path, f"{DATA / 'targets.py'}:mixed", n_trials=32, trial_walltime_limit=1,
                     trial_memory_limit=400, crash_cost=1000)
    proc = run_cli(str(path), "--quiet", timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = _report(tmp_path / "out" / "t" / "0")
    status = report["status"]
    assert report["trials"] == 32 and status["RUNNING"] == 0
    assert status["SUCCESS"] and status["CRASHED"] and status["TIMEOUT"] and status["MEMORYOUT"], status
    records = read_journal(tmp_path / "out" / "t" / "0" / "journal.jsonl").records
    errors = " | ".join(r["info"].get("error", "") for r in records if r["op"] == "end")
    for expected in ("RuntimeError", "walltime limit", "memory limit"):
        assert expected in errors
    assert all(r["cost"] == [1000.0] for r in records if r["op"] == "end" and r["status"] != 1)


def test_command_target_run(tmp_path):
    path = _scenario(tmp_path, str(DATA / "cmd_target.py"), n_trials=12)
    proc = run_cli(str(path), "--quiet")
    assert proc.returncode == 0, proc.stderr
    report = _report(tmp_path / "out" / "t" / "0")
    assert report["trials"] == 12 and report["status"]["SUCCESS"] + report["status"]["CRASHED"] == 12
    assert report["status"]["SUCCESS"] >= 6


def _ends(run_dir: Path) -> int:
    return sum(r["op"] == "end" for r in read_journal(run_dir / "journal.jsonl").records)


def test_sigterm_stops_with_3_and_resume_completes(tmp_path):
    path = _scenario(tmp_path, f"{DATA / 'targets.py'}:sleepy", n_trials=24, deterministic="true")
    run_dir = tmp_path / "out" / "t" / "0"
    proc = subprocess.Popen([sys.executable, "-m", "mpismac", str(path), "--quiet"], stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not (run_dir / "journal.jsonl").exists() or _ends(run_dir) < 5):
        time.sleep(0.05)
    time.sleep(0.1)  # most likely mid-trial
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGTERM)  # SLURM sends it more than once
    assert proc.wait(timeout=10) == 3, proc.stderr.read()
    assert time.monotonic() - sent < 2.0
    first = _report(run_dir)
    assert 5 <= first["trials"] < 24 and not (run_dir / "lock.json").exists()

    proc = run_cli(str(path), "--quiet")
    assert proc.returncode == 0, proc.stderr
    report = _report(run_dir)
    assert report["trials"] == 24 and report["status"]["SUCCESS"] == 24 and report["jobs"] == 2
    records = read_journal(run_dir / "journal.jsonl").records
    ended = [r["trial"] for r in records if r["op"] == "end"]
    assert sorted(ended) == list(range(24))  # each trial once, the cut one re-run under its own id
    configs = [r["values"] for r in records if r["op"] == "config"]
    assert len({json.dumps(c, sort_keys=True) for c in configs}) == len(configs) == 24  # no proposal repeated


def test_stops_a_margin_before_the_job_end_time_and_resumes(tmp_path):
    path = _scenario(tmp_path, f"{DATA / 'targets.py'}:sleepy", n_trials=60, job_end_margin=60)
    run_dir = tmp_path / "out" / "t" / "0"
    env = {**os.environ, "MPISMAC_JOB_END_TIME": str(time.time() + 66)}  # 6 s of this job are usable
    started = time.monotonic()
    proc = run_cli(str(path), "--quiet", env=env)
    assert proc.returncode == 3, proc.stderr
    assert "stopped by job_end_time" in proc.stdout and 5.5 < time.monotonic() - started < 20
    first = _report(run_dir)
    assert 1 <= first["trials"] < 60
    proc = run_cli(str(path), "--quiet", "--set", "job_end_margin=5", env={**os.environ, "SLURM_JOB_END_TIME": "0"})
    assert proc.returncode == 0, proc.stderr  # no end time known (0): runs to n_trials
    assert _report(run_dir)["trials"] == 60


def test_job_end_time_from_scontrol_of_older_slurm(tmp_path, monkeypatch):
    from mpismac.runtime.jobtime import job_end_time

    scontrol = tmp_path / "scontrol"  # prints what Slurm 22.05's `scontrol show job -o ID` prints
    scontrol.write_text("#!/bin/sh\necho \"JobId=$4 JobName=x JobState=RUNNING TimeLimit=00:10:00 "
                        "StartTime=2026-11-22T10:00:00 EndTime=2026-11-22T10:10:00 Deadline=N/A\"\n")
    scontrol.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    for var in ("MPISMAC_JOB_END_TIME", "SLURM_JOB_END_TIME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SLURM_JOB_ID", "77")
    assert job_end_time() == time.mktime((2026, 11, 22, 10, 10, 0, 0, 0, -1))
    scontrol.write_text("#!/bin/sh\necho JobId=$4 EndTime=Unknown\n")
    assert job_end_time() is None
    monkeypatch.setenv("SLURM_JOB_END_TIME", "1795400000")
    assert job_end_time() == 1795400000.0


def test_resume_rules_and_fresh(tmp_path):
    path = _scenario(tmp_path, f"{DATA / 'targets.py'}:quadratic", n_trials=5)
    run_dir = tmp_path / "out" / "t" / "0"
    assert run_cli(str(path), "--quiet").returncode == 0
    changed = run_cli(str(path), "--set", "trial_threads=2", "--set", "deterministic=true")
    assert changed.returncode == 2 and "trial_threads" in changed.stderr and "deterministic" in changed.stderr
    assert "Traceback" not in changed.stderr
    assert run_cli(str(path), "--set", "n_trials=8", "--quiet").returncode == 0
    assert _report(run_dir)["trials"] == 8
    shrink = run_cli(str(path), "--set", "n_trials=3")
    assert shrink.returncode == 2 and "already holds 8 trials" in shrink.stderr
    assert run_cli(str(path), "--fresh", "--quiet").returncode == 0
    assert _report(run_dir)["trials"] == 5
    assert len(list(run_dir.parent.glob("0.old-*"))) == 1


def test_folder_in_use_by_a_live_job(tmp_path):
    path = _scenario(tmp_path, f"{DATA / 'targets.py'}:quadratic", n_trials=3)
    run_dir = tmp_path / "out" / "t" / "0"
    run_dir.mkdir(parents=True)
    (run_dir / "lock.json").write_text(json.dumps({"job_id": "4242", "host": socket.gethostname(),
                                                   "pid": os.getpid(), "heartbeat": time.time()}))
    proc = run_cli(str(path))
    assert proc.returncode == 2 and "in use by job 4242" in proc.stderr
    fresh = run_cli(str(path), "--fresh")  # never moves a folder a live job writes
    assert fresh.returncode == 2 and "in use by job 4242" in fresh.stderr
    assert not list(run_dir.parent.glob("0.old-*"))
    (run_dir / "lock.json").write_text(json.dumps({"job_id": "1", "host": socket.gethostname(),
                                                   "pid": 2**22 + 7, "heartbeat": time.time()}))
    assert run_cli(str(path), "--quiet").returncode == 0  # a dead job's lock is taken over


def test_several_tasks_that_each_see_one_mpi_rank_are_refused(tmp_path):
    """`srun --mpi=none` (or pmix with MPICH) starts N singletons: each would run the whole scenario."""
    path = _scenario(tmp_path, f"{DATA / 'targets.py'}:quadratic", n_trials=3)
    env = {**os.environ, "SLURM_STEP_NUM_TASKS": "4", "SLURM_PROCID": "0"}
    proc = run_cli(str(path), env=env)
    assert proc.returncode == 2 and "SLURM_STEP_NUM_TASKS=4" in proc.stderr and "--mpi=pmi2" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()
    other = run_cli(str(path), env={**env, "SLURM_PROCID": "3"})
    assert other.returncode == 2 and other.stderr == ""  # task 0 alone says it
    assert run_cli(str(path), "--quiet", env={**env, "SLURM_STEP_NUM_TASKS": "1"}).returncode == 0


def test_a_requeued_slurm_job_takes_over_its_own_lock(tmp_path):
    path = _scenario(tmp_path, f"{DATA / 'targets.py'}:quadratic", n_trials=3)
    run_dir = tmp_path / "out" / "t" / "0"
    run_dir.mkdir(parents=True)
    lock = {"job_id": "9001", "restart": 0, "host": "node17", "pid": 4242, "heartbeat": time.time()}
    (run_dir / "lock.json").write_text(json.dumps(lock))  # fresh heartbeat, another host: not stale
    env = {**os.environ, "SLURM_JOB_ID": "9001", "SLURM_RESTART_COUNT": "0"}
    same = run_cli(str(path), env=env)
    assert same.returncode == 2 and "in use by job 9001 on node17" in same.stderr
    other = run_cli(str(path), env={**env, "SLURM_JOB_ID": "9002", "SLURM_RESTART_COUNT": "1"})
    assert other.returncode == 2 and "in use by job 9001" in other.stderr
    requeued = run_cli(str(path), "--quiet", env={**env, "SLURM_RESTART_COUNT": "1"})
    assert requeued.returncode == 0, requeued.stderr
    assert "taking over the stale lock" in requeued.stderr and not (run_dir / "lock.json").exists()


def test_validate_imports_the_target(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import no_such_module_xyz\n\ndef f(config):\n    return 0\n")
    proc = run_cli("validate", str(_scenario(tmp_path, f"{bad}:f")))
    assert proc.returncode == 2 and "no_such_module_xyz" in proc.stderr and "Traceback (most recent" not in proc.stderr
    ok = run_cli("validate", str(_scenario(tmp_path, f"{DATA / 'targets.py'}:quadratic")))
    assert ok.returncode == 0 and "OK" in ok.stdout
    assert not (tmp_path / "out").exists()  # validate runs nothing, writes nothing


def test_a_target_that_does_not_load_leaves_no_run_behind(tmp_path):
    """A typo in the function's name: one line naming the target (and the right name), exit 2, no
    run folder; the corrected scenario then runs."""
    path = _scenario(tmp_path, f"{DATA / 'targets.py'}:quadratik", n_trials=3)
    proc = run_cli(str(path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "load_function" not in proc.stderr
    error = [ln for ln in proc.stderr.splitlines() if ln.startswith("mpismac: error")]
    assert len(error) == 1 and "no function 'quadratik'" in error[0] and "did you mean 'quadratic'" in error[0]
    assert not (tmp_path / "out").exists()
    path.write_text(path.read_text().replace("quadratik", "quadratic"))
    fixed = run_cli(str(path), "--quiet")
    assert fixed.returncode == 0, fixed.stderr
    assert _report(tmp_path / "out" / "t" / "0")["trials"] == 3


def test_a_run_that_never_finished_a_trial_is_taken_over_by_a_changed_scenario(tmp_path):
    """A folder left by a first start that finished nothing (here: stopped in its first trial)
    does not block the corrected scenario; one with a finished trial still refuses a change."""
    path = _scenario(tmp_path, f"{DATA / 'targets.py'}:hangs", n_trials=2)
    run_dir = tmp_path / "out" / "t" / "0"
    proc = subprocess.Popen([sys.executable, "-m", "mpismac", str(path), "--quiet"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(r["op"] == "start" for r in read_journal(run_dir / "journal.jsonl").records):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 3
    path.write_text(path.read_text().replace(":hangs", ":quadratic"))
    taken = run_cli(str(path), "--quiet")
    assert taken.returncode == 0, taken.stderr
    assert "never finished a trial: starting over" in taken.stderr
    report = _report(run_dir)
    assert report["trials"] == 2 and report["status"]["SUCCESS"] == 2 and report["jobs"] == 1
    path.write_text(path.read_text().replace(":quadratic", ":zero"))
    refused = run_cli(str(path))
    assert refused.returncode == 2 and "changed: target" in refused.stderr


def test_a_serial_run_cut_by_the_job_end_in_its_last_trial_exits_3(tmp_path):
    """The cut trial was the budget's last: the run still stopped early (exit 3, resumable), it
    did not finish; the trial stays RUNNING to run again in the next job."""
    path = _scenario(tmp_path, f"{DATA / 'targets.py'}:hangs", n_trials=1, job_end_margin=5)
    proc = run_cli(str(path), "--quiet", env={**os.environ, "MPISMAC_JOB_END_TIME": str(time.time() + 25)})
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "stopped by job_end_time" in proc.stdout
    assert _report(tmp_path / "out" / "t" / "0")["status"]["RUNNING"] == 1


def test_a_folder_that_lost_its_scenario_is_not_run_over(tmp_path):
    path = _scenario(tmp_path, f"{DATA / 'targets.py'}:quadratic", n_trials=3)
    run_dir = tmp_path / "out" / "t" / "0"
    assert run_cli(str(path), "--quiet").returncode == 0
    (run_dir / "scenario.yaml").unlink()
    again = run_cli(str(path))
    assert again.returncode == 2 and "scenario.yaml is missing" in again.stderr
    assert [r["op"] for r in read_journal(run_dir / "journal.jsonl").records].count("job") == 1


def test_fresh_twice_in_one_second_keeps_both_old_runs(tmp_path):
    """The name a --fresh moves the old run to is taken already: the next free one is used."""
    path = _scenario(tmp_path, f"{DATA / 'targets.py'}:quadratic", n_trials=2)
    run_dir = tmp_path / "out" / "t" / "0"
    assert run_cli(str(path), "--quiet").returncode == 0
    now = time.time()
    for k in range(-1, 30):  # every name the next seconds could give, taken
        (run_dir.parent / f"0.old-{time.strftime('%Y%m%d-%H%M%S', time.localtime(now + k))}").mkdir()
    proc = run_cli(str(path), "--fresh", "--quiet")
    assert proc.returncode == 0, proc.stderr
    moved = [p for p in run_dir.parent.glob("0.old-*-*") if (p / "journal.jsonl").exists()]
    assert len(moved) == 1 and _report(run_dir)["trials"] == 2


@pytest.mark.parametrize("where", ["a_file/sub", "/proc/no/such"])
def test_an_output_directory_that_cannot_be_made_is_a_user_mistake(tmp_path, where):
    (tmp_path / "a_file").write_text("")
    target = where if where.startswith("/") else str(tmp_path / where)
    proc = run_cli(str(_scenario(tmp_path, f"{DATA / 'targets.py'}:quadratic", output_directory=target)))
    assert proc.returncode == 2 and "cannot create the run folder" in proc.stderr and "Traceback" not in proc.stderr


def test_report_on_a_missing_folder(tmp_path):
    proc = run_cli("report", str(tmp_path / "nope"))
    assert proc.returncode == 2 and "not an mpismac run folder" in proc.stderr


@pytest.mark.parametrize("tty", [True, False])
def test_progress_output(tty, capsys):
    import io
    import logging

    from mpismac.runtime.progress import Progress

    class Stream(io.StringIO):
        def isatty(self):
            return tty

    stream = Stream()
    logging.getLogger("mpismac").setLevel(logging.INFO)
    p = Progress(10, stream=stream, log_every=0.0)
    p.update(3, 1.25)
    p.finish(10, 0.5)
    if tty:
        assert "\r" in stream.getvalue() and "[10/10] best 0.5" in stream.getvalue()
    else:
        assert stream.getvalue() == ""  # log lines instead of carriage returns



@pytest.mark.parametrize("content", ["", '{"job_id": "pid1'], ids=["empty", "partial"])
def test_a_lock_being_written_is_in_use_not_stale(tmp_path, content):
    """A lock file seen empty or half-written (its writer is between create and write) belongs to
    a live job: refused, never taken over; only an unreadable lock older than LOCK_STALE_S is."""
    from mpismac.runhistory.folder import LOCK_STALE_S

    path = _scenario(tmp_path, f"{DATA / 'targets.py'}:quadratic", n_trials=3)
    run_dir = tmp_path / "out" / "t" / "0"
    run_dir.mkdir(parents=True)
    lock = run_dir / "lock.json"
    lock.write_text(content)
    proc = run_cli(str(path))
    assert proc.returncode == 2 and "in use" in proc.stderr and "Traceback" not in proc.stderr
    assert lock.read_text() == content and not (run_dir / "journal.jsonl").exists()
    old = time.time() - LOCK_STALE_S - 10
    os.utime(lock, (old, old))
    taken = run_cli(str(path), "--quiet")
    assert taken.returncode == 0, taken.stderr
    assert "taking over the unreadable lock" in taken.stderr and not lock.exists()


def test_two_runs_started_at_once_on_a_new_folder(tmp_path):
    """Started at the same instant: exactly one takes the folder, the other exits 2; the journal is
    one run's."""
    for attempt in range(4):
        base = tmp_path / str(attempt)
        base.mkdir()
        path = _scenario(base, f"{DATA / 'targets.py'}:slowish", n_trials=2)
        run_dir = base / "out" / "t" / "0"
        procs = [subprocess.Popen([sys.executable, "-m", "mpismac", str(path), "--quiet"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outs = [p.communicate(timeout=120) for p in procs]
        codes = sorted(p.returncode for p in procs)
        assert codes == [0, 2], outs
        loser = outs[[p.returncode for p in procs].index(2)][1]
        assert "in use by job" in loser and "Traceback" not in loser
        records = read_journal(run_dir / "journal.jsonl").records
        assert sum(r["op"] == "job" for r in records) == 1 and _ends(run_dir) == 2
        assert _report(run_dir)["trials"] == 2 and not (run_dir / "lock.json").exists()


HANGS_ON_IMPORT = """import os, time
with open(os.environ["IMPORT_PID_FILE"], "w") as f:
    f.write(str(os.getpid()))
time.sleep(1000)

def f(config):
    return 0.0
"""


def _stop_while_importing(tmp_path: Path, *args: str) -> tuple[subprocess.Popen, float, int]:
    """Start `python -m mpismac ARGS` on a target whose import hangs, SIGTERM it once the trial
    process imports; the process, the seconds from the signal to its exit, the trial process's pid."""
    pid_file = tmp_path / "import.pid"
    pid_file.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "mpismac", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "IMPORT_PID_FILE": str(pid_file)})
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    return proc, time.monotonic() - sent, int(pid_file.read_text())


def test_a_stop_while_the_target_imports_ends_the_job_at_once(tmp_path):
    """A target whose import hangs: SIGTERM ends the run (exit 3) and `validate` (exit 3) at once,
    the trial process killed; the run never began, so it leaves no folder behind."""
    from .conftest import gone_within

    target = tmp_path / "slow_import.py"
    target.write_text(HANGS_ON_IMPORT)
    path = _scenario(tmp_path, f"{target}:f", n_trials=2)
    proc, seconds, child = _stop_while_importing(tmp_path, str(path), "--quiet")
    assert proc.returncode == 3, proc.stderr.read()
    assert seconds < 10 and gone_within(child)
    assert not (tmp_path / "out").exists()
    proc, seconds, child = _stop_while_importing(tmp_path, "validate", str(path))
    assert proc.returncode == 3 and seconds < 10 and gone_within(child)
    assert "stopped by SIGTERM while the target was being imported" in proc.stderr.read()


def test_a_target_that_returns_minus_inf(tmp_path):
    """-inf is no cost (it would beat every other and no race or model can use it): CRASHED with the
    reason, as NaN is, and crash_cost recorded."""
    path = _scenario(tmp_path, f"{DATA / 'targets.py'}:minus_inf", n_trials=3, crash_cost=1000)
    proc = run_cli(str(path), "--quiet")
    assert proc.returncode == 0, proc.stderr
    run_dir = tmp_path / "out" / "t" / "0"
    assert _report(run_dir)["status"]["CRASHED"] == 3
    ends = [r for r in read_journal(run_dir / "journal.jsonl").records if r["op"] == "end"]
    assert all(r["cost"] == [1000.0] and r["info"]["error"] == "the target's result is not usable: the returned "
               "cost is -inf" for r in ends)


HANGS_ON_REIMPORT = """import os, time
marker = os.environ["IMPORT_PID_FILE"] + ".crashed"
if os.path.exists(marker):  # the trial process restarted after the crash: its import hangs
    with open(os.environ["IMPORT_PID_FILE"], "w") as f:
        f.write(str(os.getpid()))
    time.sleep(1000)

def f(config):
    open(marker, "w").close()
    os._exit(1)
"""


def test_a_stop_while_the_trial_process_restarts_ends_the_run_at_once(tmp_path):
    """The trial process died in trial 0; its restart for trial 1 hangs in the import: SIGTERM ends
    the run at once (exit 3), trial 1 left RUNNING to run again on resume."""
    from .conftest import gone_within

    target = tmp_path / "crash_then_hang.py"
    target.write_text(HANGS_ON_REIMPORT)
    path = _scenario(tmp_path, f"{target}:f", n_trials=3)
    proc, seconds, child = _stop_while_importing(tmp_path, str(path), "--quiet")
    assert proc.returncode == 3, proc.stderr.read()
    assert seconds < 10 and gone_within(child)
    report = _report(tmp_path / "out" / "t" / "0")
    assert report["status"]["CRASHED"] == 1 and report["status"]["RUNNING"] == 1
