"""The rank's side of trial execution: start the trial process, send trials, enforce limits.

`submit` hands a trial over and returns at once; `poll` waits a little for its outcome while
watching the walltime and the resident memory of the whole process tree. This shape lets any
runtime (serial loop, MPI worker) keep its own main loop and stay responsive.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import subprocess
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import StartCancelled, TargetLoadError
from ..target import (
    TargetResultError,
    TargetSpec,
    accepted_arguments,
    call_function,
    function_spec,
    normalize_result,
)
from ..trial import Status, TrialInfo, TrialValue
from . import procs
from .environment import trial_environment

if TYPE_CHECKING:
    from ConfigSpace import ConfigurationSpace

log = logging.getLogger(__name__)

MEMORY_POLL_S = 0.05
RUNTIME_POLL_S = 0.02  # run_objective runtime: how often a trial's CPU time is read against its cap
START_TIMEOUT_S = 600.0  # longest wait for a trial process to import its target
START_POLL_S = 0.1  # how often a start asks whether it is cancelled
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
_BOOT = (f"import sys; sys.path.append({_PACKAGE_PARENT!r}); "
         "from mpismac.execution.child import main; main()")


@dataclass(frozen=True)
class Limits:
    """Per-trial limits: seconds of wall time, MiB of resident memory, threads."""

    walltime: float | None = None
    memory_mib: float | None = None
    threads: int = 1


@dataclass(frozen=True)
class TrialRequest:
    """A trial as it travels to a trial process: plain values only."""

    trial_id: int
    config_id: int
    config: dict[str, Any]
    seed: int
    instance: str | None = None
    budget: float | None = None
    previous_budget: float | None = None  # multi_fidelity: see trial.Checkpoint
    cutoff: float | None = None  # run_objective runtime: the seconds it may run (capped or not)

    @classmethod
    def from_info(cls, info: TrialInfo) -> TrialRequest:
        return cls(info.trial_id, info.config_id, dict(info.config), info.seed, info.instance, info.budget,
                   info.previous_budget, info.cutoff)

    def to_dict(self) -> dict[str, Any]:
        return {"trial_id": self.trial_id, "config_id": self.config_id, "config": self.config,
                "seed": self.seed, "instance": self.instance, "budget": self.budget,
                "previous_budget": self.previous_budget, "cutoff": self.cutoff}


@dataclass(frozen=True)
class RuntimeRule:
    """run_objective runtime: the cost of a trial is its measured runtime (CPU seconds of the
    trial process and its children, or wall seconds); a run stopped at the cutoff is a TIMEOUT
    that costs `par_factor` x `cutoff`, one stopped at a lower cap is CAPPED and costs the cap
    (a lower bound of its runtime)."""

    cutoff: float
    par_factor: float = 10.0
    measure: str = "cpu"  # or "wall"

    def outcome(self, used: float, cap: float | None) -> tuple[Status, float]:
        """Status and cost of a run that used `used` seconds under `cap` (None: the cutoff)."""
        cap = self.cutoff if cap is None else min(cap, self.cutoff)
        if used < cap:
            return Status.SUCCESS, used
        if cap < self.cutoff * (1 - 1e-9):
            return Status.CAPPED, round(used, 6)  # at least the cap: what it ran before it was stopped
        return Status.TIMEOUT, self.par_factor * self.cutoff


class Executor(Protocol):
    """What a runtime needs from trial execution."""

    def submit(self, request: TrialRequest) -> None: ...

    def poll(self, timeout: float) -> TrialValue | None: ...

    def cancel(self) -> None: ...

    def lower_cap(self, cap: float) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class TrialSetup:
    """What running any trial of a run needs besides its target: the space its configurations
    are read in, the objectives a result must give, the cost of a failure (one per objective),
    and the instances' features (passed to command targets). The space may be given as its
    ConfigSpace JSON text (`space.configspace_to_json`): a worker rank that got it so from rank 0
    starts its trial process without importing ConfigSpace, numpy or scipy itself."""

    configspace: ConfigurationSpace | str
    objectives: tuple[str, ...]
    crash_cost: tuple[float, ...]
    instance_features: Mapping[str, Sequence[float]] | None = None
    runtime: RuntimeRule | None = None  # run_objective runtime: how a trial's cost is measured


class ChildExecutor:
    """Runs trials in a persistent child process, restarted after a kill."""

    def __init__(self, target: TargetSpec, setup: TrialSetup, limits: Limits, log_path: Path,
                 env_extra: Mapping[str, str] | None = None):
        self.limits = limits
        self.log_path = Path(log_path)
        self._crash_cost = tuple(setup.crash_cost)
        self._describe = target.describe()
        self._setup = json.dumps({
            "target": target.to_dict(), "configspace": _space_json(setup.configspace),
            "objectives": list(setup.objectives), "sys_path": [p for p in sys.path if p],
            "instance_features": {k: list(v) for k, v in (setup.instance_features or {}).items()},
            "runtime": setup.runtime is not None,
        }).encode() + b"\n"
        self._runtime = setup.runtime
        self._cap: float | None = None  # the running trial's cutoff (run_objective runtime)
        self._lowered = False  # whether its cap was lowered while it ran
        self._cpu0 = 0.0
        self._env = trial_environment(os.environ, limits.threads, env_extra)
        self._proc: subprocess.Popen[bytes] | None = None
        self._sentinel = 0
        self._lifeline = -1
        self._requests: Any = None
        self._results: Any = None
        self._request: TrialRequest | None = None
        self._started = 0.0
        self._peak_rss = 0
        self._start_timeout = START_TIMEOUT_S
        self._cancelled: Callable[[], bool] | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self, timeout: float = START_TIMEOUT_S, cancelled: Callable[[], bool] | None = None) -> None:
        """Start the trial process and wait until it has imported the target.

        Raises TargetLoadError when the target does not load, or is not imported within `timeout`
        seconds. `cancelled`, when given, is asked every START_POLL_S while the import runs: once it
        returns True (a stop signal's flag, say), the trial process is killed and StartCancelled is
        raised, so a stop is never held up by a slow or hanging import. Both are kept for the
        restarts that `submit` makes after a kill: `submit` may raise StartCancelled too, and then
        no trial was submitted.
        """
        self._start_timeout, self._cancelled = timeout, cancelled
        if self._proc is not None:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        req_r, req_w = os.pipe()
        res_r, res_w = os.pipe()
        life_r, life_w = os.pipe()
        with open(self.log_path, "ab") as logfile:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(req_r), str(res_w), str(life_r)],
                stdin=subprocess.DEVNULL, stdout=logfile, stderr=logfile, env=self._env,
                pass_fds=(req_r, res_w, life_r), start_new_session=True)
        for fd in (req_r, res_w, life_r):
            os.close(fd)
        self._lifeline = life_w
        self._requests = os.fdopen(req_w, "wb")
        self._results = os.fdopen(res_r, "rb")
        self._requests.write(self._setup)
        self._requests.flush()
        line = self._wait_ready(timeout, cancelled)
        if line is None:
            self._kill()
            raise TargetLoadError(f"the target {self._describe} did not finish importing within {timeout:g} s")
        try:
            reply = json.loads(line) if line else None
        except ValueError:
            reply = {"ready": False, "error": f"the trial process answered {line[:80]!r} instead of its ready line"}
        if not isinstance(reply, dict) or not reply.get("ready"):
            self._kill()
            if not isinstance(reply, dict):
                raise TargetLoadError(f"the trial process did not start (see {self.log_path})")
            where = f" (at {reply['where']})" if reply.get("where") else ""
            raise TargetLoadError(f"cannot load the target {self._describe}: {reply.get('error')}{where}")
        self._sentinel = int(reply["sentinel"])
        baseline = procs.rss_bytes(self._proc.pid) / 2**20
        if self.limits.memory_mib is not None and baseline > 0.9 * self.limits.memory_mib:
            self._kill()
            raise TargetLoadError(f"the trial process uses {baseline:.0f} MiB once the target is imported, "
                                  f"too close to trial_memory_limit ({self.limits.memory_mib:g} MiB): raise the limit")

    def _wait_ready(self, timeout: float, cancelled: Callable[[], bool] | None) -> bytes | None:
        """The trial process's first line (b"" if it died first), or None after `timeout` s. Waits
        in slices, asking `cancelled` between them (then kills it and raises StartCancelled)."""
        deadline = time.monotonic() + timeout
        while True:
            if cancelled is not None and cancelled():
                self._kill()
                raise StartCancelled(f"stopped while the trial process imported the target {self._describe}")
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._results], [], [], min(left, START_POLL_S))
            if ready:
                return self._results.readline()

    def close(self) -> None:
        self._kill()

    def _kill(self) -> None:
        """Kill the trial process and everything below it; forget it (the next submit restarts)."""
        if self._proc is None:
            return
        procs.kill_tree(self._proc.pid, procs.descendants(self._proc.pid))
        self._proc.wait()
        for f in (self._requests, self._results):
            try:
                f.close()
            except OSError:
                pass
        os.close(self._lifeline)
        self._proc, self._requests, self._results, self._lifeline = None, None, None, -1

    # -- trials -----------------------------------------------------------------------------------

    def submit(self, request: TrialRequest) -> None:
        if self._request is not None:
            raise RuntimeError("a trial is already running in this executor")
        self.start(self._start_timeout, self._cancelled)
        self._request = request
        self._peak_rss = 0
        self._cap, self._lowered = request.cutoff, False
        if self._runtime is not None:
            self._cpu0 = procs.cpu_seconds(self._proc.pid) if self._proc is not None else 0.0
        self._started = time.time()
        self._requests.write(json.dumps(request.to_dict()).encode() + b"\n")
        self._requests.flush()

    def poll(self, timeout: float = 0.0) -> TrialValue | None:
        """The outcome of the submitted trial, or None if it is still running after `timeout` s."""
        if self._request is None:
            raise RuntimeError("no trial was submitted")
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            wait = max(0.0, deadline - now)
            if self.limits.memory_mib is not None:
                wait = min(wait, MEMORY_POLL_S)
            if self._runtime is not None:
                wait = min(wait, RUNTIME_POLL_S)
            if self.limits.walltime is not None:
                wait = min(wait, max(0.0, self._started + self.limits.walltime - time.time()))
            ready, _, _ = select.select([self._results], [], [], wait)
            if ready:
                return self._collect()
            outcome = self._check_limits()
            if outcome is not None or time.monotonic() >= deadline:
                return outcome

    def cancel(self) -> None:
        """Cut the running trial short (shutdown): kill it, record nothing."""
        self._request = None
        self._kill()

    def lower_cap(self, cap: float) -> None:
        """run_objective runtime: the running trial may use at most `cap` seconds from now on
        (adaptive capping learned, while it ran, that more cannot win)."""
        if self._request is not None and (self._cap is None or cap < self._cap):
            self._cap = cap
            self._lowered = True

    def _used(self) -> float:
        """Seconds the running trial has used, as the runtime rule measures them."""
        assert self._runtime is not None and self._proc is not None
        if self._runtime.measure == "wall":
            return time.time() - self._started
        pids = [p for p in procs.descendants(self._proc.pid) if p != self._sentinel]
        return procs.cpu_seconds(self._proc.pid) - self._cpu0 + sum(procs.cpu_seconds(p) for p in pids)

    def _check_limits(self) -> TrialValue | None:
        """Memory first: a trial found over both limits (its rank was starved of CPU for a while)
        is reported for the memory it used, the more telling cause."""
        assert self._proc is not None
        if self.limits.memory_mib is not None:
            pids = [self._proc.pid] + [p for p in procs.descendants(self._proc.pid) if p != self._sentinel]
            rss = sum(procs.rss_bytes(p) for p in pids)
            self._peak_rss = max(self._peak_rss, rss)
            if rss > self.limits.memory_mib * 2**20:
                return self._fail(Status.MEMORYOUT, f"resident memory {rss / 2**20:.0f} MiB exceeded the "
                                                    f"trial memory limit of {self.limits.memory_mib:g} MiB")
        if self._runtime is not None:
            used = self._used()
            status, cost = self._runtime.outcome(used, self._cap)
            if status != Status.SUCCESS:
                what = "its adaptive cap" if status == Status.CAPPED else "the runtime cutoff"
                self._kill()
                return self._value(status, (cost,), {"error": f"stopped at {what} of {min(used, cost):.3g} s "
                                                              f"({self._runtime.measure})", "runtime": round(used, 6)})
        if self.limits.walltime is not None and time.time() - self._started >= self.limits.walltime:
            return self._fail(Status.TIMEOUT, f"exceeded the trial walltime limit of {self.limits.walltime:g} s")
        return None

    def _fail(self, status: Status, error: str, **info: Any) -> TrialValue:
        self._kill()
        return self._value(status, (), {"error": error, **info})

    def _value(self, status: Status, cost: Sequence[float], info: dict[str, Any]) -> TrialValue:
        if self._peak_rss:
            info["peak_memory_mib"] = round(self._peak_rss / 2**20, 1)
        if self._runtime is not None and self._request is not None:
            info["cutoff"] = self._runtime.cutoff if self._request.cutoff is None else self._request.cutoff
            if self._lowered:
                info["lowered_cap"] = self._cap
        self._request = None
        end = time.time()
        if self._runtime is not None and status in (Status.SUCCESS, Status.TIMEOUT) and not cost:
            used = info.get("cpu_time", 0.0) if self._runtime.measure == "cpu" else end - self._started
            info["runtime"] = round(used, 6)
            if status == Status.TIMEOUT:  # the target stopped itself at the cutoff it was given: its cap
                used = max(used, self._runtime.cutoff if self._cap is None else self._cap)
            status, runtime = self._runtime.outcome(used, self._cap)
            cost = (runtime,)
        if not cost or status not in (Status.SUCCESS, Status.CAPPED, Status.TIMEOUT):
            cost = self._crash_cost
        return TrialValue(tuple(cost), status, self._started, end, info)

    def _collect(self) -> TrialValue:
        assert self._proc is not None
        line = self._results.readline()
        if not line:  # the trial process died: os._exit, a signal, the kernel's OOM killer
            code = self._proc.wait()
            why = (f"the trial process was killed by {signal.Signals(-code).name}" if code < 0
                   else f"the trial process exited with code {code}")
            return self._fail(Status.CRASHED, why, exit_code=code)
        reply = self._parse_reply(line)
        if reply is None:  # the stream is out of step: only a new trial process can go on
            return self._fail(Status.CRASHED, f"the trial process sent an unreadable reply ({line[:80]!r}): "
                                              "the target wrote to mpismac's result pipe; the trial process "
                                              "was restarted")
        status, cost, info = reply
        leftovers = [p for p in procs.descendants(self._proc.pid) if p != self._sentinel]
        if leftovers:  # processes a finished trial left behind would distort the next one
            procs.kill_tree(None, leftovers)
            info["killed_leftover_processes"] = len(leftovers)
        value = self._value(status, cost, info)
        if self.limits.memory_mib is not None:
            rss = procs.rss_bytes(self._proc.pid) / 2**20
            if rss > self.limits.memory_mib:  # the trial ended in time, but the next one would start over the limit
                value.additional_info["restarted_trial_process"] = f"resident memory {rss:.0f} MiB after the trial"
                self._kill()
        return value


    def _parse_reply(self, line: bytes) -> tuple[Status, list[float], dict[str, Any]] | None:
        """Status, cost and info of the running trial's reply line; None if the line is not one."""
        assert self._request is not None
        try:
            reply = json.loads(line)
            if reply["trial_id"] != self._request.trial_id:
                return None
            status = Status(reply["status"])
            cost = [float(c) for c in reply["cost"]]
            info = dict(reply["info"])
            info["cpu_time"] = round(float(reply["cpu_time"]), 6)
        except (ValueError, KeyError, TypeError):
            return None
        return status, cost, info


def _space_json(space: ConfigurationSpace | str) -> str:
    if isinstance(space, str):
        return space
    from ..space import configspace_to_json

    return configspace_to_json(space)


def _space(space: ConfigurationSpace | str) -> ConfigurationSpace:
    if not isinstance(space, str):
        return space
    from ..space import configspace_from_json

    return configspace_from_json(space)


class InProcessExecutor:
    """Runs a callable in this process, without limits: for targets that cannot be imported
    by name in a trial process (a lambda, a closure, a function of an unguarded script)."""

    def __init__(self, fn: Callable[..., Any], setup: TrialSetup):
        self._fn = fn
        self._accepted = accepted_arguments(fn)
        self._cs = _space(setup.configspace)
        self._objectives = list(setup.objectives)
        self._crash_cost = tuple(setup.crash_cost)
        self._runtime = setup.runtime
        self._outcome: TrialValue | None = None

    def submit(self, request: TrialRequest) -> None:
        start, cpu0 = time.time(), time.process_time()
        status, cost, info = Status.SUCCESS, (), {}  # type: tuple[Status, Sequence[float], dict[str, Any]]
        try:
            from ConfigSpace import Configuration

            config = Configuration(self._cs, values=request.config)
            raw = call_function(self._fn, self._accepted, config, request.seed, request.instance, request.budget,
                                request.previous_budget, request.cutoff)
            if self._runtime is None:
                cost, info = normalize_result(raw, self._objectives)
            else:  # measured, not capped: nothing can stop a function in this process
                used = time.process_time() - cpu0 if self._runtime.measure == "cpu" else time.time() - start
                status, runtime = self._runtime.outcome(used, request.cutoff)
                cost, info = (runtime,), {"runtime": used}
        except TargetResultError as exc:
            status, info = Status.CRASHED, {"error": f"the target's result is not usable: {exc}"}
        except (Exception, SystemExit) as exc:
            status = Status.CRASHED
            info = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        if status not in (Status.SUCCESS, Status.CAPPED):
            cost = self._crash_cost if status != Status.TIMEOUT or self._runtime is None else cost
        self._outcome = TrialValue(tuple(cost), status, start, time.time(), info)

    def poll(self, timeout: float = 0.0) -> TrialValue | None:
        outcome, self._outcome = self._outcome, None
        return outcome

    def cancel(self) -> None:
        self._outcome = None

    def lower_cap(self, cap: float) -> None:
        """A trial in this process has finished when `submit` returns: nothing to stop."""

    def close(self) -> None:
        pass


def make_executor(target: TargetSpec | Callable[..., Any], setup: TrialSetup, limits: Limits, log_path: Path,
                  env_extra: Mapping[str, str] | None = None, *, start_timeout: float = START_TIMEOUT_S,
                  cancelled: Callable[[], bool] | None = None) -> Executor:
    """A started executor: a trial process where the target can be imported by name there, else
    the caller's process (with a warning that says why). `start_timeout` and `cancelled` are
    ChildExecutor.start's: it raises TargetLoadError, or StartCancelled once `cancelled()` is true."""
    if isinstance(target, TargetSpec):
        spec = target
    else:
        found, why = function_spec(target)
        if found is None:
            warnings.warn(f"the target runs in this process without time or memory limits: {why}",
                          stacklevel=4)
            log.warning("target runs in-process without limits: %s", why)
            return InProcessExecutor(target, setup)
        spec = found
    executor = ChildExecutor(spec, setup, limits, log_path, env_extra)
    executor.start(start_timeout, cancelled)
    return executor
