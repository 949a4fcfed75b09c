"""The trial process. Started by exec (never forked from an MPI rank), it imports the target
once and then runs one trial per request it reads, until its request pipe closes.

Protocol, one JSON object per line: the rank sends a setup record, the child answers
`{"ready": true, "sentinel": pid}` or `{"ready": false, "error": text, "where": "file, line N"}`; then each request
`{"trial_id", "config", "seed", "instance", "budget", "previous_budget", "cutoff"}` is answered by
`{"trial_id", "status", "cost", "info", "cpu_time"}`.

The two protocol pipes are moved to high file descriptors (PROTOCOL_FD_MIN and above) before
the target is imported, so a target that writes to the low numbers it inherited by mistake does
not reach them; a reply that is still unreadable is the trial's crash (see executor.py).

A sentinel process, forked before anything is imported, blocks on a pipe only the rank can
write to; when the rank dies for any reason, the pipe closes and the sentinel kills the whole
process group, target's children included.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import resource
import signal
import subprocess
import sys
import time
import traceback
from typing import Any

_PR_SET_CHILD_SUBREAPER = 36
PROTOCOL_FD_MIN = 100
SHUTDOWN_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGHUP)


def _ignore(signum: int, frame: Any) -> None:
    """Shutdown is the rank's decision; a handler (not SIG_IGN) keeps exec'd programs' defaults."""


def _start_sentinel(lifeline: int) -> int:
    pid = os.fork()
    if pid:
        return pid
    try:  # the sentinel: hold nothing but the lifeline, wait for it to close, kill the group
        for fd in range(3, 256):
            if fd != lifeline:
                try:
                    os.close(fd)
                except OSError:
                    pass
        while os.read(lifeline, 4096):
            pass
        os.killpg(0, signal.SIGKILL)
    finally:
        os._exit(0)


def _out_of_reach(fd: int) -> int:
    """Move a protocol pipe to a file descriptor of PROTOCOL_FD_MIN or above, close-on-exec, before
    the target is imported: the low numbers a target's own files get, or that it writes to by
    mistake, are then not mpismac's pipes, and programs the target execs do not inherit them."""
    try:
        high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, PROTOCOL_FD_MIN)
    except OSError:  # RLIMIT_NOFILE below PROTOCOL_FD_MIN: keep it where it is
        return fd
    os.close(fd)
    return high


def _reap() -> None:
    """As a subreaper this process inherits orphaned grandchildren; collect the dead ones."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _cpu_seconds() -> float:
    """User and system CPU seconds of this process and of the children it has waited for, to
    the microsecond (os.times counts in clock ticks: 10 ms, too coarse for 0.1 s solver runs)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class _Runner:
    """Runs trials of one target in this process."""

    def __init__(self, setup: dict[str, Any]):
        from ..target import TargetSpec, accepted_arguments, load_function

        for entry in reversed(setup.get("sys_path", [])):
            if entry not in sys.path:
                sys.path.insert(0, entry)
        self.spec = TargetSpec.from_dict(setup["target"])
        self.objectives = setup["objectives"]
        self.features = setup.get("instance_features") or {}
        self.runtime = bool(setup.get("runtime"))  # the cost is the measured runtime, not what the target returns
        if self.spec.kind == "function":  # a command gets plain values: no ConfigSpace (nor scipy) to load
            from ..space import configspace_from_json

            self.cs = configspace_from_json(setup["configspace"])
            self.fn = load_function(self.spec)
            self.accepted = accepted_arguments(self.fn)

    def run(self, req: dict[str, Any]) -> dict[str, Any]:
        from ..trial import Status

        header = (f"--- trial {req['trial_id']} config {req.get('config_id')} seed {req['seed']}"
                  f" instance {req['instance']} budget {req['budget']} at {time.ctime()}\n")
        sys.stdout.write(header)
        sys.stdout.flush()
        t0 = _cpu_seconds()
        try:
            if self.spec.kind == "command":
                status, cost, info = self._run_command(req)
            else:
                status, cost, info = self._run_function(req)
        except SystemExit as exc:
            status, cost, info = Status.CRASHED, [], {"error": f"the target called sys.exit({exc.code!r})"}
        except BaseException as exc:  # the target's own failure, whatever it is
            status, cost = Status.CRASHED, []
            info = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        cpu = _cpu_seconds() - t0
        return {"trial_id": req["trial_id"], "status": int(status), "cost": list(cost),
                "info": info, "cpu_time": cpu}

    def _run_function(self, req: dict[str, Any]):
        from ConfigSpace import Configuration

        from ..target import TargetResultError, call_function, normalize_result
        from ..trial import Status

        config = Configuration(self.cs, values=req["config"])
        raw = call_function(self.fn, self.accepted, config, req["seed"], req["instance"], req["budget"],
                            req.get("previous_budget"), req.get("cutoff"))
        if self.runtime:
            return Status.SUCCESS, [], {} if raw is None else {"returned": raw}
        try:
            cost, info = normalize_result(raw, self.objectives)
        except TargetResultError as exc:
            return Status.CRASHED, [], {"error": f"the target's result is not usable: {exc}"}
        return Status.SUCCESS, cost, info

    def _run_command(self, req: dict[str, Any]):
        from ..target import TargetResultError, command_argv, parse_aclib_output, parse_command_output
        from ..trial import Status

        argv = command_argv(self.spec, req["config"], req["seed"], req["instance"],
                            self.features.get(req["instance"]), req["budget"], req.get("cutoff"))
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                                errors="replace")
        out, _ = proc.communicate()
        sys.stdout.write(out)
        info: dict[str, Any] = {"returncode": proc.returncode}
        if proc.returncode < 0:
            name = signal.Signals(-proc.returncode).name
            return Status.CRASHED, [], {**info, "error": f"the command was killed by {name}"}
        parse = parse_aclib_output if self.spec.convention == "aclib" else parse_command_output
        try:
            status, cost, parsed = parse(out, self.objectives, need_cost=not self.runtime)
            cost = () if self.runtime else cost
        except TargetResultError as exc:
            tail = out.strip().splitlines()[-5:]
            return Status.CRASHED, [], {**info, "error": f"exit code {proc.returncode}: {exc}",
                                        "output_tail": tail}
        return status, cost, {**info, **parsed}


def _user_frame(exc: BaseException) -> str:
    """Where in the user's code an exception was raised ("file.py, line 3"), "" if not there."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith((package, "<frozen")) and "importlib" not in f.filename]
    return f"{frames[-1].filename}, line {frames[-1].lineno}" if frames else ""


def main() -> None:
    request_fd, result_fd, lifeline = (int(a) for a in sys.argv[1:4])
    for sig in SHUTDOWN_SIGNALS:
        signal.signal(sig, _ignore)
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    sentinel = _start_sentinel(lifeline)
    os.close(lifeline)
    request_fd, result_fd = _out_of_reach(request_fd), _out_of_reach(result_fd)
    requests = os.fdopen(request_fd, "rb")
    results = os.fdopen(result_fd, "wb")

    def send(obj: dict[str, Any]) -> None:
        results.write(json.dumps(obj, default=repr).encode() + b"\n")
        results.flush()

    setup = json.loads(requests.readline())
    try:
        runner = _Runner(setup)
    except BaseException as exc:
        traceback.print_exc()  # into the worker's log
        send({"ready": False, "error": f"{type(exc).__name__}: {exc}", "where": _user_frame(exc)})
        sys.exit(1)
    send({"ready": True, "sentinel": sentinel})
    for line in requests:
        _reap()
        send(runner.run(json.loads(line)))
    _reap()


if __name__ == "__main__":
    main()
