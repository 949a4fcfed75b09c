from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from ConfigSpace import ConfigurationSpace

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parent.parent
MPIEXEC = Path(sys.executable).parent / "mpiexec"
needs_mpiexec = pytest.mark.skipif(not MPIEXEC.exists(), reason="no mpiexec next to this Python "
                                   "(install the 'mpich' extra: pip install -e '.[mpich]')")


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
