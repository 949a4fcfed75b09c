"""Targets: how a scenario names one, how it is loaded and called, and what its results mean.

A target is a Python function given by name (`pkg.module:function`, `path/file.py:function`) or
a command in SMAC3's script-target convention: it is called as
`command --instance=I --instance_features=f1,f2 --seed=S --budget=B --hp1=v1 ...` and prints
`cost=0.5; runtime=0.01; status=SUCCESS; additional_info=text` (`cost=0.5, 0.4` for several
objectives). Unlike SMAC3, spaces inside values (a categorical value, additional_info) are kept.

A command may instead follow the AClib / SMAC2 wrapper convention (`target_convention: aclib`):
`command INSTANCE INSTANCE_INFO CUTOFF RUNLENGTH SEED -hp1 'v1' -hp2 'v2' ...`, printing
`Result of this algorithm run: STATUS, runtime, runlength, quality, seed[, additional info]`.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import math
import numbers
import os
import re
import shlex
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .trial import Checkpoint, Status

_FUNCTION_SPEC = re.compile(r"^(?P<left>[^\s:]+):(?P<func>[A-Za-z_][\w.]*)$")
_MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
TARGET_ARGS = ("seed", "instance", "budget", "cutoff")


class TargetResultError(ValueError):
    """A target returned something that is not a cost."""


@dataclass(frozen=True)
class TargetSpec:
    """Where a target lives. Travels to trial processes as JSON (`to_dict`/`from_dict`)."""

    kind: Literal["function", "command"]
    function: str = ""  # qualified name inside the module
    module: str = ""  # dotted module name, or
    path: str = ""  # absolute path of a .py file
    argv: tuple[str, ...] = ()  # the command
    convention: Literal["smac3", "aclib"] = "smac3"  # a command's: how it is called and what it prints

    def describe(self) -> str:
        if self.kind == "command":
            return shlex.join(self.argv)
        return f"{self.path or self.module}:{self.function}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "function": self.function, "module": self.module,
                "path": self.path, "argv": list(self.argv), "convention": self.convention}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TargetSpec:
        return cls(d["kind"], d.get("function", ""), d.get("module", ""), d.get("path", ""),
                   tuple(d.get("argv", ())), d.get("convention", "smac3"))


def parse_target(spec: str | Sequence[str], base_dir: Path) -> TargetSpec:
    """Read a scenario's `target`. Relative paths are relative to `base_dir` (the scenario's folder).

    Raises ValueError with the reason.
    """
    if isinstance(spec, str):
        if not spec.strip():
            raise ValueError("is empty")
        match = _FUNCTION_SPEC.match(spec.strip())
        if match:
            left, func = match["left"], match["func"]
            if left.endswith(".py"):
                path = Path(left) if Path(left).is_absolute() else base_dir / left
                if not path.is_file():
                    raise ValueError(f"file not found: {path}")
                return TargetSpec("function", function=func, path=str(path.resolve()))
            if _MODULE_NAME.match(left):
                return TargetSpec("function", function=func, module=left)
        argv = shlex.split(spec)
    elif isinstance(spec, Sequence) and spec and all(isinstance(a, str) for a in spec):
        argv = list(spec)
    else:
        raise ValueError("expected 'module:function', 'file.py:function', a command string, "
                         "or a command as a list of strings")
    program = argv[0]
    if "/" in program or (base_dir / program).is_file():
        path = Path(program) if Path(program).is_absolute() else base_dir / program
        if not path.is_file():
            raise ValueError(f"command not found: {path}")
        if not os.access(path, os.X_OK):
            raise ValueError(f"{path} is not executable (make it so with chmod +x, or name its interpreter "
                             f"first: 'python3 {program}')")
        argv[0] = str(path.resolve())
    elif shutil.which(program) is None:
        raise ValueError(f"command '{program}' is not on PATH (for a function write "
                         "'module:function' or 'file.py:function')")
    return TargetSpec("command", argv=tuple(argv))


def load_function(spec: TargetSpec) -> Callable[..., Any]:
    """Import a function target. A file is imported under its own name, never as `__main__`,
    so it needs no `if __name__ == "__main__"` guard."""
    if spec.path:
        path = Path(spec.path)
        sys.path.insert(0, str(path.parent))
        name = f"_mpismac_target_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot import {path}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(spec.module)
    obj: Any = module
    for part in spec.function.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_") and callable(getattr(obj, n, None))]
            close = difflib.get_close_matches(part, names, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise AttributeError(f"{spec.path or spec.module} has no function '{part}'{hint}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{spec.describe()} is not callable")
    return obj


def accepted_arguments(fn: Callable[..., Any]) -> frozenset[str]:
    """Which of seed/instance/budget/cutoff the function declares (all of them if it takes **kwargs),
    and `checkpoint` if it names it."""
    params = inspect.signature(fn).parameters
    named = frozenset(a for a in (*TARGET_ARGS, "checkpoint") if a in params)
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return named | frozenset(TARGET_ARGS)
    return named


def call_function(fn: Callable[..., Any], accepted: frozenset[str], config: Any, seed: int,
                  instance: str | None, budget: float | None, previous_budget: float | None = None,
                  cutoff: float | None = None) -> Any:
    """Call a target as SMAC3 does: only the arguments it declares are passed (`checkpoint`:
    multi-fidelity, where to continue from, see `Checkpoint`; `cutoff`: run_objective runtime,
    the seconds after which the run is stopped, so a target can stop itself first)."""
    available: dict[str, Any] = {"seed": seed, "instance": instance, "budget": budget, "cutoff": cutoff}
    if "checkpoint" in accepted:
        available["checkpoint"] = Checkpoint.of(dict(config), instance, seed, previous_budget)
    return fn(config, **{k: v for k, v in available.items() if k in accepted})


def _as_cost(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TargetResultError(f"{what} is {value!r} ({type(value).__name__}), not a number")
    cost = float(value)
    if math.isnan(cost):
        raise TargetResultError(f"{what} is NaN")
    if cost == -math.inf:  # no race or model can use it (inf is kept: the worst cost, as crash_cost is)
        raise TargetResultError(f"{what} is -inf")
    return cost


def normalize_result(result: Any, objectives: Sequence[str]) -> tuple[tuple[float, ...], dict[str, Any]]:
    """The one place that reads what a target returned: a number, a list of numbers, a dict
    of objective names, or any of these with an info dict as `(cost, info)`.

    Raises TargetResultError naming what was wrong.
    """
    info: dict[str, Any] = {}
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], Mapping):
        result, info = result[0], dict(result[1])
    n = len(objectives)
    if isinstance(result, Mapping):
        missing = [o for o in objectives if o not in result]
        if missing:
            raise TargetResultError(f"the returned dict lacks objective(s) {missing} "
                                    f"(has {sorted(map(str, result))})")
        costs = tuple(_as_cost(result[o], f"objective '{o}'") for o in objectives)
    elif isinstance(result, (list, tuple)) or (hasattr(result, "shape") and getattr(result, "ndim", 0) == 1):
        values = list(result)
        if len(values) != n:
            raise TargetResultError(f"returned {len(values)} costs for {n} objective(s) {list(objectives)}")
        costs = tuple(_as_cost(v, f"cost {i}") for i, v in enumerate(values))
    else:
        if hasattr(result, "item") and getattr(result, "size", 2) == 1:
            result = result.item()
        if n != 1:
            raise TargetResultError(f"returned one number for {n} objectives {list(objectives)}")
        costs = (_as_cost(result, "the returned cost"),)
    return costs, info


ACLIB_RUNLENGTH = 2147483647  # SMAC2's "no limit on the run length"
ACLIB_NO_CUTOFF = 2147483647.0


def command_argv(spec: TargetSpec, config: Mapping[str, Any], seed: int, instance: str | None,
                 features: Sequence[float] | None, budget: float | None, cutoff: float | None = None) -> list[str]:
    """The command line of a command target, in its convention (SMAC3's script target, or AClib's)."""
    argv = list(spec.argv)
    if spec.convention == "aclib":
        argv += [instance if instance is not None else "0", "0",
                 repr(float(cutoff if cutoff is not None else ACLIB_NO_CUTOFF)), str(ACLIB_RUNLENGTH), str(seed)]
        for key, value in config.items():
            argv += [f"-{key}", str(value)]
        return argv
    if instance is not None:
        argv.append(f"--instance={instance}")
        argv.append("--instance_features=" + ",".join(repr(float(f)) for f in (features or ())))
    argv.append(f"--seed={seed}")
    if budget is not None:
        argv.append(f"--budget={budget!r}")
    if cutoff is not None:
        argv.append(f"--cutoff={cutoff!r}")
    for key, value in config.items():
        argv.append(f"--{key}={value}")
    return argv


def parse_command_output(stdout: str, objectives: Sequence[str], need_cost: bool = True
                         ) -> tuple[Status, tuple[float, ...], dict[str, Any]]:
    """Read `cost=...; runtime=...; status=...; additional_info=...` from a command's output.

    The last line that sets `cost` or `status` wins, so a program may print other things first.
    `need_cost=False` (run_objective runtime): a status alone will do.
    Raises TargetResultError when no usable result line is found.
    """
    fields: dict[str, str] = {}
    for line in stdout.splitlines():
        parsed = {}
        for pair in line.split(";"):
            if "=" in pair:
                key, value = pair.split("=", 1)
                parsed[key.strip()] = value.strip()
        if "cost" in parsed or "status" in parsed:
            fields = parsed
    if not fields:
        raise TargetResultError("the command printed no 'cost=...' line")
    info: dict[str, Any] = {}
    for key in ("runtime", "cpu_time"):
        if key in fields:
            try:
                info[key] = float(fields[key])
            except ValueError:
                pass
    if "additional_info" in fields:
        info["additional_info"] = fields["additional_info"]
    status = Status.SUCCESS
    if "status" in fields:
        try:
            status = Status[fields["status"].upper()]
        except KeyError:
            raise TargetResultError(f"unknown status '{fields['status']}' "
                                    f"(one of {[s.name for s in Status]})") from None
        if status == Status.RUNNING:
            raise TargetResultError("status=RUNNING is not the status of a finished run")
    if status != Status.SUCCESS or ("cost" not in fields and not need_cost):
        return status, (), info
    if "cost" not in fields:
        raise TargetResultError("the command printed status=SUCCESS but no cost")
    try:
        values = [float(v) for v in fields["cost"].split(",")]
    except ValueError:
        raise TargetResultError(f"cost '{fields['cost']}' is not a number") from None
    costs, _ = normalize_result(values if len(values) > 1 else values[0], objectives)
    return status, costs, info


_ACLIB_LINE = re.compile(r"^\s*Result (?:of this algorithm run|for SMAC|for ParamILS)\s*:\s*(?P<rest>.*)$",
                         re.IGNORECASE)
_ACLIB_STATUS = {"SAT": Status.SUCCESS, "UNSAT": Status.SUCCESS, "SUCCESS": Status.SUCCESS,
                 "TIMEOUT": Status.TIMEOUT, "CRASHED": Status.CRASHED, "ABORT": Status.CRASHED,
                 "MEMOUT": Status.MEMORYOUT}


def parse_aclib_output(stdout: str, objectives: Sequence[str], need_cost: bool = True
                       ) -> tuple[Status, tuple[float, ...], dict[str, Any]]:
    """Read AClib's `Result of this algorithm run: STATUS, runtime, runlength, quality, seed[, info]`
    (SMAC2 also takes `Result for SMAC:`); the last such line wins. The cost is the quality
    (run_objective runtime measures the runtime itself; the wrapper's is kept in the info as
    `reported_runtime`). Raises TargetResultError when there is no usable line."""
    found = None
    for line in stdout.splitlines():
        match = _ACLIB_LINE.match(line)
        if match:
            found = match["rest"]
    if found is None:
        raise TargetResultError("the command printed no 'Result of this algorithm run: ...' line")
    fields = [f.strip() for f in found.split(",", 5)]
    if len(fields) < 5:
        raise TargetResultError(f"expected 'STATUS, runtime, runlength, quality, seed', got {found!r}")
    word = fields[0].upper()
    if word not in _ACLIB_STATUS:
        raise TargetResultError(f"unknown status '{fields[0]}' (one of {', '.join(_ACLIB_STATUS)})")
    status = _ACLIB_STATUS[word]
    info: dict[str, Any] = {"aclib_status": word}
    try:
        info["reported_runtime"] = float(fields[1])
        quality = float(fields[3])
    except ValueError:
        raise TargetResultError(f"runtime and quality must be numbers, got {found!r}") from None
    if len(fields) > 5 and fields[5]:
        info["additional_info"] = fields[5]
    if status != Status.SUCCESS or not need_cost:
        return status, (), info
    costs, _ = normalize_result(quality, objectives)
    return status, costs, info


def function_spec(fn: Callable[..., Any]) -> tuple[TargetSpec | None, str]:
    """How a trial process can import `fn` by name, or None and why it cannot."""
    qualname = getattr(fn, "__qualname__", "")
    module_name = getattr(fn, "__module__", None)
    if not qualname or not module_name:
        return None, f"{fn!r} has no importable name"
    if "<lambda>" in qualname or "<locals>" in qualname:
        return None, f"'{qualname}' is a lambda or a closure, which cannot be imported by name"
    if inspect.ismethod(fn) and not inspect.isclass(fn.__self__):
        return None, f"'{qualname}' is a method bound to an object, which a trial process cannot rebuild"
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    if module_name == "__main__":
        if not path:
            return None, f"'{qualname}' was defined interactively"
        if not _has_main_guard(Path(path)):
            return None, (f"'{qualname}' is defined in the script {path}, which has no "
                          "`if __name__ == \"__main__\":` guard: importing it would run the script again")
        return TargetSpec("function", function=qualname, path=str(Path(path).resolve())), ""
    return TargetSpec("function", function=qualname, module=module_name), ""


def _has_main_guard(path: Path) -> bool:
    import ast

    try:
        tree = ast.parse(path.read_text())
    except (OSError, SyntaxError):
        return False
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare):
            names = {getattr(n, "id", None) for n in ast.walk(node.test)}
            consts = {getattr(n, "value", None) for n in ast.walk(node.test)}
            if "__name__" in names and "__main__" in consts:
                return True
    return False
