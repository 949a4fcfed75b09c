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

from .conftest import DATA, REPO

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
    print(start.stdout.strip())
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
    """The job's record once it has ended (after `restarts` requeues)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _job(job_id)
        if job.get("JobState") in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY") \
                and int(job.get("Restarts", 0)) >= restarts:
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not end in {timeout} s: {_job(job_id)}")


def _ends(run_dir: Path) -> int:
    journal = run_dir / "journal.jsonl"
    return journal.read_text().count('"op":"end"') if journal.exists() else 0


def test_sbatch_runs_four_ranks_with_srun_pmi2(slurm, tmp_path):
    job_id = _submit(tmp_path, "-n", "4", str(SBATCH), str(_scenario(tmp_path, 24)))
    job = _wait(job_id)
    log = (tmp_path / f"job-{job_id}.out").read_text()
    print(f"job {job_id}: {job['JobState']} exit {job['ExitCode']}")
    assert job["JobState"] == "COMPLETED" and job["ExitCode"] == "0:0", log
    assert "the run is finished" in log
    state = load_run(tmp_path / "out" / "s" / "0").state
    trials = state.runhistory.trials
    assert sorted(trials) == list(range(24)) and {r.worker for r in trials.values()} == {1, 2, 3}
    assert [(j["job_id"], j["ranks"]) for j in state.jobs] == [(job_id, 4)]


@pytest.mark.parametrize("launcher,stop", [("mpiexec", "signal"), ("srun", "scancel")])
def test_a_stopped_job_checkpoints_and_its_continuation_completes_the_run(slurm, tmp_path, launcher, stop):
    """`signal`: TERM to the job's steps, as --signal=TERM@90 sends it before the limit: the job
    requeues itself. `scancel`: the time-limit sequence (TERM to every process, SIGKILL KillWait
    later): the job cannot requeue while it is cancelled, so it chains a new one."""
    run_dir = tmp_path / "out" / "s" / "0"
    job_id = _submit(tmp_path, "-n", "4", str(SBATCH), str(_scenario(tmp_path, 60)),
                     env={"MPISMAC_LAUNCHER": launcher})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _ends(run_dir) < 9:
        time.sleep(0.2)
    assert _ends(run_dir) >= 9, (tmp_path / f"job-{job_id}.out").read_text()
    sent = time.time()
    subprocess.run(["scancel", "-s", "TERM", job_id] if stop == "signal" else ["scancel", job_id], check=True)
    if stop == "signal":
        final = _wait(job_id, restarts=1)
        jobs = [job_id]
    else:
        first = _wait(job_id)
        assert first["JobState"] == "CANCELLED", first
        out = (tmp_path / f"job-{job_id}.out").read_text()
        assert "continuing in job" in out, out
        next_id = out.split("continuing in job ")[1].split()[0]
        final = _wait(next_id)
        jobs = [job_id, next_id]
    out = (tmp_path / f"job-{job_id}.out").read_text()
    exited = [float(line.rsplit(" at ", 1)[1]) for line in out.splitlines() if "mpismac exited with status 3" in line]
    assert exited, out
    print(f"{launcher}, {stop}: SIGTERM -> mpismac exit 3 in {exited[0] - sent:.2f} s; jobs {jobs}: "
          f"{final['JobState']} {final['ExitCode']}")
    assert exited[0] - sent < 10, "the run must stop well inside KillWait"
    assert final["JobState"] == "COMPLETED" and final["ExitCode"] == "0:0", out
    state = load_run(run_dir).state
    assert sorted(state.runhistory.trials) == list(range(60))
    assert all(r.status.name == "SUCCESS" for r in state.runhistory.trials.values())
    ended = [r["trial"] for r in read_journal(run_dir / "journal.jsonl").records if r["op"] == "end"]
    assert sorted(ended) == list(range(60)), "a trial whose result was written ran twice, or one is missing"
    assert [j["job_id"] for j in state.jobs] == jobs and all(j["ranks"] == 4 for j in state.jobs)


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
    assert len(state.runhistory.trials) == 6 and state.jobs[0]["ranks"] == 1
    rank0 = (tmp_path / "out" / "s" / "0" / "logs" / "rank0.log").read_text()
    assert "the batch job ends at" in rank0, "the job's end time is read from scontrol (Slurm 22.05)"
    logged = rank0.split("the batch job ends at ")[1][:19]
    start = time.mktime(time.strptime(_job(serial)["StartTime"], "%Y-%m-%dT%H:%M:%S"))
    assert abs(time.mktime(time.strptime(logged, "%Y-%m-%d %H:%M:%S")) - (start + 420)) <= 2, logged
