from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ConfigSpace import ConfigurationSpace

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parent.parent
MPIEXEC = Path(sys.executable).parent / "mpiexec"
needs_mpiexec = pytest.mark.skipif(not MPIEXEC.exists(), reason="no mpiexec next to this Python "
                                   "(install the 'mpich' extra: pip install -e '.[mpich]')")


def start_mpi(n: int, scenario: Path) -> subprocess.Popen:
    """`mpiexec -n N python -m mpismac SCENARIO --quiet`, left running."""
    return subprocess.Popen([str(MPIEXEC), "-n", str(n), sys.executable, "-m", "mpismac", str(scenario), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def terminate_ranks(proc: subprocess.Popen, scenario: Path, times: int = 2) -> tuple[str, str, float]:
    """SIGTERM to every rank of the job started on `scenario` (`times` over, as SLURM does);
    returns its stdout, stderr and the seconds from the signal to the job's exit."""
    pids = subprocess.run(["pgrep", "-f", f"mpismac {scenario}"], capture_output=True, text=True).stdout.split()
    sent = time.monotonic()
    for pid in (int(p) for p in pids if int(p) != proc.pid):
        for _ in range(times):
            os.kill(pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    return out, err, time.monotonic() - sent


def ended_and_running(run_dir: Path, ended: int) -> bool:
    """At least `ended` trials of a run folder's parts ended, and one started within the last
    0.5 s (so one is in flight: the targets that use this run longer)."""
    from mpismac.runhistory.journal import read_journal

    records = [r for p in run_dir.glob("journal.rank*.jsonl") for r in read_journal(p).records]
    starts = [r["time"] for r in records if r["op"] == "start"]
    return sum(r["op"] == "end" for r in records) >= ended and any(time.time() - t < 0.5 for t in starts)


def mpirun(n: int, *args: str, timeout: float = 180, env: dict | None = None) -> subprocess.CompletedProcess:
    """`mpiexec -n N python ARGS` (MPICH from PyPI, next to this Python)."""
    return subprocess.run([str(MPIEXEC), "-n", str(n), sys.executable, *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    """The real command line in a subprocess."""
    return subprocess.run([sys.executable, "-m", "mpismac", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, **kw)


def process_gone(pid: int) -> bool:
    """Dead or a zombie (this container's PID 1 reaps late)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def gone_within(pid: int, seconds: float = 10.0) -> bool:
    """Whether the process is gone before the deadline (polled: a loaded machine reaps late)."""
    deadline = time.monotonic() + seconds
    while not process_gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def space() -> ConfigurationSpace:
    return ConfigurationSpace({"x": (-5.0, 10.0), "y": (0.0, 15.0)})


@pytest.fixture(autouse=True)
def _no_mpi_env(monkeypatch):
    for k in list(os.environ):
        if k.startswith(("PMI_", "OMPI_", "PMIX_")):
            monkeypatch.delenv(k)


FIGURES: list[str] = []


def figure(line: str) -> None:
    """A measured figure worth seeing in the CI log (printed at the end of the run)."""
    FIGURES.append(line)


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.write_sep("-", "figures measured by the tests")
        for line in FIGURES:
            terminalreporter.write_line(line)
