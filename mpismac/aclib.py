"""AClib / SMAC2 scenario files (`scenario.txt`): read into our scenario's keys, so that an
AClib scenario runs as it is: `python -m mpismac run path/to/scenario.txt`.

The format is one `key = value` per line (`#` starts a comment). Paths are relative to the
folder the run is started from, as SMAC2 and AClib have them, or else to the scenario file's
folder; instance names in the instance files are passed to the wrapper as they are written.
Keys of SMAC2 that tune SMAC2 itself (its logging, its own searches) do not apply here and are
listed once, in a warning.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from .errors import ScenarioError

log = logging.getLogger(__name__)

# SMAC2's spellings of each key we read (SMAC2 accepts '-', '_' and several names).
ALIASES = {
    "algo": ("algo", "algo-exec", "algoexec"),
    "execdir": ("execdir", "exec-dir", "algo-exec-dir"),
    "deterministic": ("deterministic", "algo-deterministic"),
    "run_obj": ("run_obj", "run-obj", "runobj"),
    "overall_obj": ("overall_obj", "overall-obj", "intra-instance-obj", "intra_instance_obj"),
    "cutoff_time": ("cutoff_time", "cutoff-time", "algo-cutoff-time", "target-run-cputime-limit",
                    "target_run_cputime_limit"),
    "wallclock_limit": ("wallclock_limit", "wallclock-limit", "tunertimeout", "tuner-timeout", "runtime-limit"),
    "runcount_limit": ("runcount_limit", "runcount-limit", "totalnumrunslimit", "numberofrunslimit"),
    "paramfile": ("paramfile", "param-file", "pcs-file", "pcs_file"),
    "instance_file": ("instance_file", "instance-file", "instances", "instance-dir"),
    "test_instance_file": ("test_instance_file", "test-instance-file", "test_instances", "test-instance-dir"),
    "feature_file": ("feature_file", "feature-file", "instance-features", "instance_features"),
    "output_dir": ("output_dir", "output-dir", "outdir", "outputdirectory"),
    "seed": ("seed", "numrun", "seed-offset"),
}
_KEY_OF = {alias: key for key, aliases in ALIASES.items() for alias in aliases}
_PAR = re.compile(r"^(?:mean|par)(\d+(?:\.\d+)?)?$")


def parse(text: str) -> dict[str, tuple[str, int]]:
    """The `key = value` pairs of a scenario file with the line each is on, keys lower-cased."""
    pairs: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep:  # SMAC2 also reads "key value"
            key, _, value = line.partition(" ")
        pairs[key.strip().lstrip("-").lower()] = (value.strip(), number)
    return pairs


def _path(value: str, base: Path, scenario_dir: Path) -> str:
    """A file named in the scenario: relative to `base` (where the run starts, or execdir), or
    else to the scenario file's folder."""
    path = Path(os.path.expanduser(value))
    if path.is_absolute():
        return str(path)
    for root in (base, scenario_dir):
        if (root / path).exists():
            return str((root / path).resolve())
    return str(base / path)


def _bool(value: str) -> bool | None:
    return {"true": True, "1": True, "false": False, "0": False}.get(value.lower())


def to_raw(text: str, source: str, scenario_dir: Path, cwd: Path) -> tuple[dict[str, Any], Path]:
    """Our scenario's keys from an AClib scenario, and the folder its relative paths start
    from. Raises ScenarioError naming each bad line."""
    pairs = parse(text)
    known = {_KEY_OF[k]: v for k, v in pairs.items() if k in _KEY_OF}
    ignored = sorted(k for k in pairs if k not in _KEY_OF)
    if ignored:
        log.warning("%s: keys of SMAC2 that do not apply here were ignored: %s", source, ", ".join(ignored))
    problems: list[tuple[str, str]] = []
    for needed in ("algo", "paramfile"):
        if needed not in known:
            problems.append((needed, f"is required in an AClib scenario ({', '.join(ALIASES[needed])})"))
    base = cwd
    if "execdir" in known:
        base = Path(_path(known["execdir"][0], cwd, scenario_dir))
    raw: dict[str, Any] = {"target_convention": "aclib", "deterministic": False}
    if "algo" in known:
        raw["target"] = known["algo"][0]
    if "paramfile" in known:
        raw["configspace"] = _path(known["paramfile"][0], base, scenario_dir)
    for ours, theirs in (("instances", "instance_file"), ("test_instances", "test_instance_file"),
                         ("instance_features", "feature_file")):
        if theirs in known:
            raw[ours] = _path(known[theirs][0], base, scenario_dir)
    raw["facade"] = "algorithm_configuration" if "instances" in raw else "hpo"
    if "deterministic" in known:
        value, line = known["deterministic"]
        flag = _bool(value)
        if flag is None:
            problems.append(("deterministic", f"line {line}: expected true/false or 1/0, got {value!r}"))
        raw["deterministic"] = bool(flag)
    run_obj = known.get("run_obj", ("runtime", 0))[0].lower()
    if run_obj not in ("runtime", "quality"):
        problems.append(("run_obj", f"line {known['run_obj'][1]}: expected runtime or quality, got {run_obj!r}"))
    raw["run_objective"] = run_obj if run_obj in ("runtime", "quality") else "quality"
    if "overall_obj" in known and raw["run_objective"] == "runtime":
        value, line = known["overall_obj"]
        match = _PAR.match(value.lower())
        if match is None:
            problems.append(("overall_obj", f"line {line}: expected mean, meanN or parN (PAR10: mean10), "
                                            f"got {value!r}"))
        else:
            raw["par_factor"] = float(match[1] or 1)
    numbers = {"cutoff_time": "runtime_cutoff" if raw["run_objective"] == "runtime" else "trial_walltime_limit",
               "wallclock_limit": "walltime_limit", "runcount_limit": "n_trials", "seed": "seed"}
    for theirs, ours in numbers.items():
        if theirs in known:
            value, line = known[theirs]
            try:
                number = float(value)
            except ValueError:
                problems.append((theirs, f"line {line}: expected a number, got {value!r}"))
                continue
            if theirs == "cutoff_time" and raw["run_objective"] == "runtime" and number > 0:
                raw[ours] = number
            elif number > 0 or theirs == "seed":
                raw[ours] = int(number) if theirs in ("runcount_limit", "seed") else number
    if "output_dir" in known:
        raw["output_directory"] = _path(known["output_dir"][0], base, scenario_dir)
    if problems:
        raise ScenarioError(source, problems)
    return raw, base
