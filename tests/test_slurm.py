"""launch/slurm.sbatch on a real single-node SLURM (slurmctld + slurmd + munge on 127.0.0.1),
started by launch/ci/local-slurm.sh. Needs root and Debian's packages; skipped elsewhere, with the
reason. MPISMAC_SLURM_TESTS=0 skips them on purpose."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mpismac.runhistory.folder import load_run
from mpismac.runhistory.journal import read_journal

from .conftest import DATA, REPO, figure

SBATCH = REPO / "launch" / "slurm.sbatch"
LOCAL_SLURM = REPO / "launch" / "ci" / "local-slurm.sh"


@pytest.fixture(scope="module")
def slurm():
    if os.environ.get("MPISMAC_SLURM_TESTS") == "0":
        pytest.skip("MPISMAC_SLURM_TESTS=0")
    if os.geteuid() != 0:
        pytest.skip("a local SLURM needs root (to install Debian's packages and start slurmctld/slurmd/munged)")
    if not shutil.which("slurmctld") and not shutil.which("apt-get"):
        pytest.skip("SLURM is not installed and there is no apt-get to install it")
    install = subprocess.run([str(LOCAL_SLURM), "install"], capture_output=True, text=True, timeout=900)
    if install.returncode != 0:
        pytest.skip(f"SLURM could not be installed: {install.stderr[-500:]}")
    start = subprocess.run([str(LOCAL_SLURM), "start"], capture_output=True, text=True, timeout=120)
    assert start.returncode == 0, start.stdout + start.stderr
    figure(start.stdout.strip())
    yield
    subprocess.run([str(LOCAL_SLURM), "stop"], capture_output=True, text=True, timeout=120)


def _scenario(tmp_path: Path, n_trials: int, target: str = "sleepy") -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(f"target: {DATA / 'targets.py'}:{target}\nconfigspace: {REPO / 'examples' / 'branin.json'}\n"
                    f"name: s\noutput_directory: {tmp_path / 'out'}\nfacade: hpo\nn_trials: {n_trials}\n")
    return path


def _submit(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    exports = {"MPISMAC_PYTHON": sys.executable, **(env or {})}
    proc = subprocess.run(["sbatch", "--parsable", f"--chdir={tmp_path}", f"--output={tmp_path}/job-%j.out",
                           "--export=ALL," + ",".join(f"{k}={v}" for k, v in exports.items()), *args],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().split(";")[0]


def _job(job_id: str) -> dict[str, str]:
    out = subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True).stdout
    return dict(f.split("=", 1) for f in out.split() if "=" in f)


def _wait(job_id: str, timeout: float = 180, restarts: int = 0) -> dict[str, str]:
    """The job's record once it has ended (its run after `restarts` requeues)."""
    deadline = time.monotonic() + timeout
    seen_running = restarts == 0
    while time.monotonic() < deadline:
        job = _job(job_id)
        again = int(job.get("Restarts", 0)) >= restarts
        seen_running |= again and job.get("JobState") == "RUNNING"
        if seen_running and job.get("JobState") in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL",
                                                    "OUT_OF_MEMORY"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not end in {timeout} s: {_job(job_id)}\n{_daemon_logs(job_id)}")


def _daemon_logs(job_id: str) -> str:
    """What slurmctld and slurmd logged about a job (local-slurm.sh wipes the logs at its next start)."""
    logs = Path(os.environ.get("SLURM_BASE", "/tmp/mpismac-slurm")) / "log"
    lines = [f"{path.name}: {line}" for path in sorted(logs.glob("*.log"))
             for line in path.read_text(errors="replace").splitlines() if f"JobId={job_id}" in line
             or f"job {job_id}" in line.lower() or f"StepId={job_id}." in line]
    return "\n".join(lines[-40:])


def _ends(run_dir: Path) -> int:
    journal = run_dir / "journal.jsonl"
    return journal.read_text().count('"op":"end"') if journal.exists() else 0


def test_sbatch_runs_four_ranks_with_srun_pmi2(slurm, tmp_path):
    job_id = _submit(tmp_path, "-n", "4", str(SBATCH), str(_scenario(tmp_path, 24)))
    job = _wait(job_id)
    log = (tmp_path / f"job-{job_id}.out").read_text()
    figure(f"SLURM job {job_id} (sbatch -n 4, srun --mpi=pmi2): {job['JobState']}, exit code {job['ExitCode']}")
    assert job["JobState"] == "COMPLETED" and job["ExitCode"] == "0:0", log
    assert "the run is finished" in log
    state = load_run(tmp_path / "out" / "s" / "0").state
    trials = state.runhistory.trials
    assert sorted(trials) == list(range(24)) and {r.worker for r in trials.values()} == {1, 2, 3}
    assert [(j.job_id, j.ranks) for j in state.jobs] == [(job_id, 4)]


def _check_complete(run_dir: Path, n_trials: int, jobs: list[str], ranks: int = 4) -> None:
    """Exactly n_trials trials, each ended once, written by the given jobs."""
    state = load_run(run_dir).state
    assert sorted(state.runhistory.trials) == list(range(n_trials))
    assert all(r.status.name == "SUCCESS" for r in state.runhistory.trials.values())
    ended = [r["trial"] for r in read_journal(run_dir / "journal.jsonl").records if r["op"] == "end"]
    assert sorted(ended) == list(range(n_trials)), "a trial whose result was written ran twice, or one is missing"
    assert [j.job_id for j in state.jobs] == jobs and all(j.ranks == ranks for j in state.jobs)


def _requeued(job_id: str) -> dict[str, str]:
    """Wait for a job to requeue itself and run to its end again."""
    deadline = time.monotonic() + 150
    hurried = False
    while time.monotonic() < deadline:
        job = _job(job_id)
        if int(job.get("Restarts", 0)) >= 1 and job.get("JobState") not in ("PENDING", "REQUEUED"):
            break
        if job.get("JobState") == "PENDING" and not hurried:  # SLURM holds a requeued job back for about
            # two minutes: skip most of that, but not all: a launch in the same second as the kill is
            # refused by slurmd ("Job credential revoked") and the job ends FAILED
            subprocess.run(["scontrol", "update", f"JobId={job_id}", "StartTime=now+5"])
            hurried = True
        time.sleep(1)
    return _wait(job_id, restarts=1)


def _exit_times(log: str) -> list[float]:
    return [float(line.rsplit(" at ", 1)[1]) for line in log.splitlines() if "mpismac exited with status" in line]


@pytest.mark.parametrize("launcher,signal_all,continuation", [("mpiexec", False, "requeue"), ("srun", True, "chain")])
def test_a_signalled_job_checkpoints_and_its_continuation_completes_the_run(slurm, tmp_path, launcher, signal_all,
                                                                            continuation):
    """TERM to the job's steps (what `--signal=TERM@90` sends before the limit): the run stops with
    3 within a second and the job requeues itself. TERM to every process of the job, twice (what
    the time limit sends): srun, signalled itself, SIGKILLs its tasks at once (SLURM 22.05), and
    the job goes on in a chained job all the same. Either way the continuation completes the run
    with nothing lost."""
    run_dir = tmp_path / "out" / "s" / "0"
    job_id = _submit(tmp_path, "-n", "4", "--cpus-per-task=1", str(SBATCH), str(_scenario(tmp_path, 60)),
                     env={"MPISMAC_LAUNCHER": launcher, "MPISMAC_CONTINUE": continuation})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _ends(run_dir) < 9:
        time.sleep(0.2)
    assert _ends(run_dir) >= 9, (tmp_path / f"job-{job_id}.out").read_text()
    sent = time.time()
    for _ in range(2 if signal_all else 1):
        subprocess.run(["scancel", "--full", "-s", "TERM", job_id] if signal_all else
                       ["scancel", "-s", "TERM", job_id], check=True)
    if continuation == "requeue":
        final, jobs = _requeued(job_id), [job_id, job_id]
    else:
        _wait(job_id)
        out = (tmp_path / f"job-{job_id}.out").read_text()
        assert "continuing in job" in out, out
        next_id = out.split("continuing in job ")[1].split()[0]
        final, jobs = _wait(next_id), [job_id, next_id]
    log = (tmp_path / f"job-{job_id}.out").read_text()
    took = _exit_times(log)[0] - sent
    status = log.split("mpismac exited with status ")[1].split()[0]
    target = "every process" if signal_all else "the steps"
    figure(f"SLURM {launcher}, TERM to {target}: mpismac exit {status} {took:.2f} s after the signal; "
           f"{continuation} -> jobs {jobs}: {final['JobState']} {final['ExitCode']}; 60 trials, each ended once")
    if not signal_all:
        assert status == "3", log
    assert took < 5, "the run must stop well inside KillWait"
    assert final["JobState"] == "COMPLETED" and final["ExitCode"] == "0:0", log
    assert "the run is finished" in log
    _check_complete(run_dir, 60, jobs)


def test_a_cancelled_job_checkpoints_and_is_not_continued(slurm, tmp_path):
    run_dir = tmp_path / "out" / "s" / "0"
    job_id = _submit(tmp_path, "-n", "4", str(SBATCH), str(_scenario(tmp_path, 60)))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _ends(run_dir) < 6:
        time.sleep(0.2)
    subprocess.run(["scancel", job_id], check=True)
    job = _wait(job_id)
    log = (tmp_path / f"job-{job_id}.out").read_text()
    assert job["JobState"] == "CANCELLED" and "not continuing: the job was cancelled" in log, log
    assert int(_job(job_id).get("Restarts", 0)) == 0
    trials = load_run(run_dir).state.runhistory.trials
    assert 6 <= len(trials) < 60 and not (run_dir / "lock.json").exists()


def test_a_run_stops_before_the_time_limit_and_the_requeued_job_completes_it(slurm, tmp_path):
    """--time=1 with job_end_margin 35: the run reads the end time from scontrol and stops by itself
    25 s in, well before SLURM's limit; the chained job (the default) completes the budget."""
    run_dir = tmp_path / "out" / "s" / "0"
    scenario = _scenario(tmp_path, 300)  # 0.3 s trials on 3 workers: about 200 in the first run
    started = time.time()
    # SLURM sends --signal up to 60 s early: in 1-minute jobs the script's TERM@90 would come at
    # once. This copy of the script leaves it out, so the run's own margin must do the work.
    script = tmp_path / "slurm.sbatch"
    script.write_text("".join(line for line in SBATCH.read_text().splitlines(keepends=True)
                              if not line.startswith("#SBATCH --signal")))
    job_id = _submit(tmp_path, "-n", "4", "--time=1", str(script), str(scenario),
                     "--set", "job_end_margin=35",
                     "--set", "facade=random")
    first = _wait(job_id)
    log = (tmp_path / f"job-{job_id}.out").read_text()
    assert "stopped by job_end_time" in log and "continuing in job" in log, log
    first_exit = _exit_times(log)[0]
    jobs = [job_id]
    while log.count("continuing in job ") >= len(jobs) and len(jobs) < 6:  # a loaded machine may need a
        jobs.append(log.split("continuing in job ")[len(jobs)].split()[0])  # third job; the chain writes
        final = _wait(jobs[-1])                                                # to the first job's file
        log = (tmp_path / f"job-{job_id}.out").read_text()
    figure(f"SLURM time limit 60 s, margin 35 s: job {job_id} ({first['JobState']}) stopped its run "
           f"{first_exit - started:.1f} s after submission; job {jobs[-1]} {final['JobState']} "
           f"({len(jobs)} jobs in the chain)")
    assert final["JobState"] == "COMPLETED", log
    _check_complete(run_dir, 300, jobs)


def test_wrong_pmi_is_refused_and_a_serial_run_in_a_batch_script_is_fine(slurm, tmp_path):
    scenario = _scenario(tmp_path, 6, target="quadratic")
    wrong = _submit(tmp_path, "-n", "4", str(SBATCH), str(scenario), env={"MPISMAC_SRUN_MPI": "none"})
    job = _wait(wrong)
    out = (tmp_path / f"job-{wrong}.out").read_text()
    assert job["JobState"] == "FAILED" and job["ExitCode"].startswith("2:"), out
    assert out.count("MPI sees one rank in each") == 1 and "not continuing: status 2" in out
    assert not (tmp_path / "out").exists()

    serial = _submit(tmp_path, "-n", "4", "--time=00:07:00",
                     f"--wrap={sys.executable} -m mpismac {scenario} --quiet")
    job = _wait(serial)
    assert job["JobState"] == "COMPLETED", (tmp_path / f"job-{serial}.out").read_text()
    state = load_run(tmp_path / "out" / "s" / "0").state
    assert len(state.runhistory.trials) == 6 and state.jobs[0].ranks == 1
    rank0 = (tmp_path / "out" / "s" / "0" / "logs" / "rank0.log").read_text()
    assert "the batch job ends at" in rank0, "the job's end time is read from scontrol (Slurm 22.05)"
    logged = rank0.split("the batch job ends at ")[1][:19]
    start = time.mktime(time.strptime(_job(serial)["StartTime"], "%Y-%m-%dT%H:%M:%S"))
    assert abs(time.mktime(time.strptime(logged, "%Y-%m-%d %H:%M:%S")) - (start + 420)) <= 2, logged
