"""Trial execution: every way a target can fail is recorded with the right status, the trial
process carries on (or is restarted), and nothing outlives its rank."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from mpismac.execution import ChildExecutor, InProcessExecutor, Limits, TrialRequest, TrialSetup
from mpismac.target import TargetSpec
from mpismac.trial import Status

from .conftest import DATA, gone_within, process_gone

CRASH = 1e9


NO_LIMITS = Limits()


def _executor(space, tmp_path, fn, limits=NO_LIMITS, **kw):
    spec = TargetSpec("function", function=fn, path=str(DATA / "targets.py"))
    ex = ChildExecutor(spec, TrialSetup(space, ("cost",), (CRASH,)), limits, tmp_path / "logs" / "worker0.out", **kw)
    ex.start()
    return ex


def _run(ex, trial_id=0, config=None, timeout=30.0):
    ex.submit(TrialRequest(trial_id, 0, config or {"x": 1.0, "y": 2.0}, seed=1))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = ex.poll(0.5)
        if value is not None:
            return value
    raise AssertionError("the trial never ended")


@pytest.mark.parametrize("fn,status,error", [
    ("raises", Status.CRASHED, "RuntimeError: boom from the target"),
    ("nan", Status.CRASHED, "NaN"),
    ("minus_inf", Status.CRASHED, "the returned cost is -inf"),
    ("not_a_number", Status.CRASHED, "not a number"),
    ("exits", Status.CRASHED, "sys.exit(3)"),
    ("hard_exit", Status.CRASHED, "exited with code 7"),
    ("segfault", Status.CRASHED, "SIGSEGV"),
    ("hangs", Status.TIMEOUT, "walltime limit of 1.5 s"),
    ("hogs_memory", Status.MEMORYOUT, "memory limit of 400 MiB"),
])
def test_failure_is_recorded_and_execution_goes_on(space, tmp_path, fn, status, error):
    # The memory hog reaches 400 MiB in a fraction of a second, but a loaded machine may take
    # longer than the walltime limit the hang needs to be short: the hog gets room.
    walltime = 30.0 if fn == "hogs_memory" else 1.5
    ex = _executor(space, tmp_path, fn, Limits(walltime=walltime, memory_mib=400))
    first_pid = ex.pid
    try:
        value = _run(ex)
        assert value.status == status
        assert error in value.additional_info["error"]
        assert value.cost == (CRASH,)
    finally:
        ex.close()
    assert process_gone(first_pid)


def test_process_survives_python_failures(space, tmp_path):
    ex = ChildExecutor(TargetSpec("function", function="raises", path=str(DATA / "targets.py")),
                       TrialSetup(space, ("cost",), (CRASH,)), Limits(), tmp_path / "w.out")
    ex.start()
    pid = ex.pid
    try:
        assert _run(ex).status == Status.CRASHED
        assert _run(ex, 1).status == Status.CRASHED
        assert ex.pid == pid  # imports paid once
        assert "Traceback" in _run(ex, 2).additional_info["traceback"]
    finally:
        ex.close()


def test_memory_limit_restarts_the_process(space, tmp_path):
    ex = _executor(space, tmp_path, "hogs_memory", Limits(memory_mib=300))
    try:
        pid = ex.pid
        value = _run(ex)
        assert value.status == Status.MEMORYOUT and value.additional_info["peak_memory_mib"] > 300
        assert process_gone(pid)
        assert _run(ex, 1).status == Status.MEMORYOUT and ex.pid is None  # restarted for trial 1, killed again
    finally:
        ex.close()


def test_hanging_grandchild_is_killed_with_the_group(space, tmp_path, monkeypatch):
    pid_file = tmp_path / "gc.pid"
    monkeypatch.setenv("GRANDCHILD_PID_FILE", str(pid_file))
    ex = _executor(space, tmp_path, "grandchild_hangs", Limits(walltime=2.0))
    try:
        value = _run(ex)
        assert value.status == Status.TIMEOUT
        assert gone_within(int(pid_file.read_text()))
    finally:
        ex.close()


def test_leftover_processes_are_killed_after_a_trial(space, tmp_path, monkeypatch):
    pid_file = tmp_path / "gc.pid"
    monkeypatch.setenv("GRANDCHILD_PID_FILE", str(pid_file))
    ex = _executor(space, tmp_path, "leaves_grandchild")
    try:
        value = _run(ex)
        assert value.status == Status.SUCCESS and value.additional_info["killed_leftover_processes"] == 1
        assert gone_within(int(pid_file.read_text()))
    finally:
        ex.close()


def test_environment_of_the_trial_process(space, tmp_path, monkeypatch):
    for var in ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "HYDRA_CONTROL_FD", "MPICH_INTERFACE_HOSTNAME"):
        monkeypatch.setenv(var, "1")
    ex = _executor(space, tmp_path, "environment", Limits(threads=3))
    try:
        info = _run(ex).additional_info
        assert info["leaked"] == [] and info["omp"] == "3"
        assert info["pgid"] == info["pid"] != os.getpgid(0)  # its own process group
    finally:
        ex.close()


def test_trial_process_ignores_shutdown_signals(space, tmp_path):
    ex = _executor(space, tmp_path, "sleepy")
    try:
        ex.submit(TrialRequest(0, 0, {"x": 1.0, "y": 2.0}, 0))
        time.sleep(0.05)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
            os.kill(ex.pid, sig)
        value = None
        while value is None:
            value = ex.poll(0.5)
        assert value.status == Status.SUCCESS  # shutdown is the rank's decision
    finally:
        ex.close()


def test_output_goes_to_the_worker_log(space, tmp_path):
    ex = _executor(space, tmp_path, "prints")
    try:
        _run(ex, 5, {"x": 0.25, "y": 1.0})
    finally:
        ex.close()
    text = (tmp_path / "logs" / "worker0.out").read_text()
    assert "--- trial 5" in text and "hello from the target 0.25" in text


def test_target_that_cannot_be_imported(space, tmp_path):
    from mpismac.errors import TargetLoadError

    bad = tmp_path / "bad.py"
    bad.write_text("import no_such_module_xyz\n")
    ex = ChildExecutor(TargetSpec("function", function="f", path=str(bad)), TrialSetup(space, ("cost",), (CRASH,)),
                       Limits(), tmp_path / "w.out")
    with pytest.raises(TargetLoadError, match="no_such_module_xyz"):
        ex.start()


def test_memory_limit_below_the_baseline_is_refused(space, tmp_path):
    from mpismac.errors import TargetLoadError

    with pytest.raises(TargetLoadError, match="raise the limit"):
        _executor(space, tmp_path, "zero", Limits(memory_mib=20))


def test_command_target(space, tmp_path):
    spec = TargetSpec("command", argv=(str(DATA / "cmd_target.py"),))
    ex = ChildExecutor(spec, TrialSetup(space, ("cost",), (CRASH,)), Limits(walltime=10), tmp_path / "w.out")
    ex.start()
    try:
        value = _run(ex, 0, {"x": 3.0, "y": 2.0})
        assert value.status == Status.SUCCESS and value.cost == (4.0,)
        assert value.additional_info["additional_info"] == "seed1" and value.additional_info["runtime"] == 0.01
        failed = _run(ex, 1, {"x": 9.9, "y": 2.0})
        assert failed.status == Status.CRASHED and "exit code 1" in failed.additional_info["error"]
    finally:
        ex.close()
    assert "solver log line" in (tmp_path / "w.out").read_text()


def _mapped_packages(pid: int) -> set[str]:
    with open(f"/proc/{pid}/maps") as f:
        parts = {part for line in f for part in line.split("/")[1:]}
    return {name for name in ("numpy", "scipy", "sklearn", "h5py") if name in parts or f"{name}.libs" in parts}


def test_a_command_target_trial_process_loads_no_configspace(space, tmp_path):
    # a command gets plain values: its trial process has no ConfigSpace, numpy or scipy to import
    spec = TargetSpec("command", argv=(str(DATA / "cmd_target.py"),))
    ex = ChildExecutor(spec, TrialSetup(space, ("cost",), (CRASH,)), Limits(), tmp_path / "w.out")
    ex.start()
    try:
        assert ex.pid is not None and _mapped_packages(ex.pid) == set()
        assert _run(ex, 0, {"x": 3.0, "y": 2.0}).cost == (4.0,)
    finally:
        ex.close()


def test_a_space_given_as_json_text(space, tmp_path):
    # what a worker rank gets from rank 0: the space as JSON; the target still gets a Configuration
    from ConfigSpace import Configuration

    from mpismac.space import configspace_to_json

    setup = TrialSetup(configspace_to_json(space), ("cost",), (CRASH,))
    spec = TargetSpec("function", function="quadratic", path=str(DATA / "targets.py"))
    ex = ChildExecutor(spec, setup, Limits(), tmp_path / "w.out")
    ex.start()
    try:
        assert _run(ex, 0, {"x": 3.0, "y": 2.0}).cost == (4.0,)
    finally:
        ex.close()
    seen = []
    local = InProcessExecutor(lambda config: seen.append(config) or 1.0, setup)
    local.submit(TrialRequest(0, 0, {"x": 2.0, "y": 1.0}, 0))
    assert local.poll(0).cost == (1.0,) and isinstance(seen[0], Configuration)


def test_in_process_fallback(space):
    ex = InProcessExecutor(lambda config: config["x"] * 2, TrialSetup(space, ("cost",), (CRASH,)))
    ex.submit(TrialRequest(0, 0, {"x": 2.0, "y": 1.0}, 0))
    assert ex.poll(0).cost == (4.0,)
    ex = InProcessExecutor(lambda config: 1 / 0, TrialSetup(space, ("cost",), (CRASH,)))
    ex.submit(TrialRequest(0, 0, {"x": 2.0, "y": 1.0}, 0))
    assert ex.poll(0).status == Status.CRASHED


RANK = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from ConfigSpace import ConfigurationSpace
    from mpismac.execution import ChildExecutor, Limits, TrialRequest, TrialSetup
    from mpismac.target import TargetSpec
    cs = ConfigurationSpace({"x": (-5.0, 10.0), "y": (0.0, 15.0)})
    ex = ChildExecutor(TargetSpec("function", function="grandchild_hangs", path=sys.argv[1]),
                       TrialSetup(cs, ("cost",), (1.0,)), Limits(), Path(sys.argv[2]))
    ex.start()
    ex.submit(TrialRequest(0, 0, {"x": 1.0, "y": 1.0}, 0))
    print(json.dumps({"child": ex.pid, "sentinel": ex._sentinel}), flush=True)
    while True:
        ex.poll(1.0)
""")


def test_no_process_survives_its_rank(tmp_path):
    """SIGKILL the rank mid-trial: the trial process, its sentinel and the target's child die."""
    pid_file = tmp_path / "gc.pid"
    rank = subprocess.Popen([sys.executable, "-c", RANK, str(DATA / "targets.py"), str(tmp_path / "w.out")],
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "GRANDCHILD_PID_FILE": str(pid_file)})
    pids = json.loads(rank.stdout.readline())
    deadline = time.monotonic() + 20
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    pids["grandchild"] = int(pid_file.read_text())
    assert not any(process_gone(p) for p in pids.values())
    rank.kill()
    rank.wait()
    deadline = time.monotonic() + 5
    while not all(process_gone(p) for p in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert {k: process_gone(p) for k, p in pids.items()} == {k: True for k in pids}


def test_start_waits_for_the_import_no_longer_than_its_timeout_or_a_stop(space, tmp_path):
    """A target whose import hangs: `start` gives up after its timeout (a user mistake, named), and
    at once when `cancelled` turns true (StartCancelled); the trial process is killed either way."""
    from mpismac.errors import StartCancelled, TargetLoadError

    slow = tmp_path / "slow_import.py"
    slow.write_text("import time\ntime.sleep(1000)\n\ndef f(config):\n    return 0.0\n")
    spec = TargetSpec("function", function="f", path=str(slow))
    ex = ChildExecutor(spec, TrialSetup(space, ("cost",), (CRASH,)), Limits(), tmp_path / "w.out")
    started = time.monotonic()
    with pytest.raises(TargetLoadError, match="did not finish importing within 1.5 s"):
        ex.start(timeout=1.5)
    assert 1.5 <= time.monotonic() - started < 30 and ex.pid is None  # not the default 600 s
    stop_at = time.monotonic() + 0.5
    started = time.monotonic()
    with pytest.raises(StartCancelled):
        ex.start(cancelled=lambda: time.monotonic() > stop_at)
    assert time.monotonic() - started < 30 and ex.pid is None  # not the 600 s default timeout


def test_a_target_that_writes_to_inherited_file_descriptors(space, tmp_path):
    """Garbage written to fds 3..63 does not reach mpismac's pipes; garbage that does (written to
    every fd) makes the trial CRASHED and the trial process is restarted, the rank goes on."""
    ex = _executor(space, tmp_path, "scribbles_on_fds")
    try:
        pid = ex.pid
        assert _run(ex, 0).status == Status.SUCCESS and _run(ex, 1).status == Status.SUCCESS
        assert ex.pid == pid
        value = _run(ex, 2, {"x": -1.0, "y": 2.0})
        assert value.status == Status.CRASHED and value.cost == (CRASH,) and ex.pid is None
        assert "unreadable reply (b'garbage\\n')" in value.additional_info["error"]
        assert process_gone(pid)
        assert _run(ex, 3).status == Status.SUCCESS and ex.pid not in (None, pid)
    finally:
        ex.close()
