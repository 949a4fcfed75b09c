"""The scenario: every setting of a run, from YAML or Python, validated in one place.

Keys follow SMAC3's `Scenario` names where SMAC3 has one. Every problem is reported with the
file and the key, all at once, so a user fixes a scenario in one round.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from ConfigSpace import ConfigurationSpace

from . import yamlio
from .errors import ScenarioError
from .space import configspace_to_json, load_configspace
from .target import TargetSpec, parse_target

FACADES = ("hpo", "blackbox", "random", "multi_fidelity", "algorithm_configuration")
MODES = ("master_worker", "psmac", "groups")
BRACKETS = ("learned", "hyperband")
RUN_OBJECTIVES = ("quality", "runtime")
RUNTIME_MEASURES = ("cpu", "wall")
TARGET_CONVENTIONS = ("smac3", "aclib")
# Keys that may change when a run is resumed; any other change is refused.
RESUMABLE_CHANGES = ("n_trials", "walltime_limit", "job_end_margin", "checkpoint_interval",
                     "snapshot_interval", "psmac", "groups")
# Keys that people bring from other tools, with what to do instead.
MISPLACED_KEYS = {
    "n_workers": "the number of workers is the number of MPI ranks minus one: start the run with "
                 "`mpiexec -n N python -m mpismac SCENARIO.yaml` for N-1 workers",
    "num_workers": "the number of workers is the number of MPI ranks minus one: start the run with "
                   "`mpiexec -n N python -m mpismac SCENARIO.yaml` for N-1 workers",
    "output_dir": "the key is 'output_directory'",
}


@dataclass(frozen=True)
class PsmacSettings:
    """Settings of `mode: psmac`."""

    input_dirs: tuple[str, ...] = ()  # other jobs' run folders (globs, relative to the scenario file)
    exchange_interval: float = 1.0  # seconds between the starts of two exchange rounds
    input_interval: float = 10.0  # seconds between two reads of input_dirs


@dataclass(frozen=True)
class Scenario:
    """Everything that defines a run. Build with keywords, `from_yaml` or `from_dict`."""

    configspace: ConfigurationSpace
    target: TargetSpec | None = None
    name: str = "run"
    output_directory: str = "mpismac_output"
    objectives: tuple[str, ...] = ("cost",)
    deterministic: bool = False
    crash_cost: float | tuple[float, ...] = math.inf  # one for all objectives, or one each
    termination_cost_threshold: tuple[float, ...] | None = None
    reference_point: tuple[float, ...] | None = None  # several objectives: the hypervolume's bound
    n_trials: int = 100
    walltime_limit: float = math.inf
    cputime_limit: float = math.inf
    trial_walltime_limit: float | None = None
    trial_memory_limit: float | None = None
    trial_threads: int = 1
    use_default_config: bool | None = None  # None: the facade's choice (algorithm_configuration: yes)
    initial_design_size: int | None = None  # None: 2 per hyperparameter + 2, at most a quarter of n_trials
    max_config_calls: int | None = None  # at most this many (instance, seed) pairs per configuration
    seed: int = 0
    instances: tuple[str, ...] | None = None  # a list, or a file with one per line (AClib's instance_file)
    test_instances: tuple[str, ...] | None = None  # for `evaluate`: the same forms
    instance_features: dict[str, tuple[float, ...]] | None = None  # a mapping, or a CSV file (AClib's)
    target_convention: str = "smac3"  # how a command target is called: SMAC3's script convention or AClib's wrapper
    run_objective: str = "quality"  # runtime: the cost is the trial's measured runtime (PAR for timeouts)
    runtime_cutoff: float | None = None  # runtime: seconds one run may take (default: trial_walltime_limit)
    par_factor: float = 10.0  # runtime: a timeout costs par_factor x runtime_cutoff (PAR10)
    runtime_measure: str = "cpu"  # runtime: CPU seconds of the trial, children included, or wall seconds
    adaptive_capping: bool | None = None  # runtime: stop a challenger's run once it cannot win (None: on)
    adaptive_capping_slackfactor: float = 1.3  # runtime: a challenger may use this times the incumbent's time
    min_budget: float | None = None
    max_budget: float | None = None
    eta: float = 3.0  # multi_fidelity: a rung keeps the best 1/eta; budgets grow by eta
    n_brackets: int | None = None  # multi_fidelity: starting budgets in use (None: every budget, as Hyperband)
    brackets: str = "learned"  # multi_fidelity: Hyperband's shares of brackets, or weighed by how each ranks
    facade: str = "hpo"
    mode: str = "master_worker"
    groups: int | None = None  # mode groups: how many master-worker groups (None: one per node)
    reproducible: bool = False
    reproducible_lag: int = 8  # with reproducible: proposal k sees exactly the results of trials < k - lag
    checkpoint_interval: int = 1
    snapshot_interval: float = 30.0  # seconds between HDF5 snapshots (and one at the end of every job)
    job_end_margin: float = 60.0  # stop this many seconds before the batch job's end time, when known
    gpus_per_worker: int = 0  # >0: each worker's trials see their own CUDA_VISIBLE_DEVICES
    psmac: PsmacSettings = field(default_factory=PsmacSettings)
    source: str = field(default="Scenario(...)", compare=False)
    base_dir: str = field(default=".", compare=False)

    def __post_init__(self) -> None:
        raw = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name in KEYS}
        clean, problems = _validate(raw, Path(self.base_dir))
        if problems:
            raise ScenarioError(self.source, problems)
        for key, value in clean.items():
            object.__setattr__(self, key, value)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
        """A YAML scenario, or an AClib / SMAC2 scenario (`.txt`: `key = value` lines)."""
        path = Path(path)
        if path.suffix.lower() != ".txt":
            return cls.from_yaml(path, overrides)
        from . import aclib

        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise ScenarioError(str(path), [("", f"cannot read the file: {exc}")]) from None
        raw, base = aclib.to_raw(text, str(path), path.parent, Path.cwd())
        folder = path.resolve().parent.name
        raw["name"] = folder if path.stem == "scenario" and folder else path.stem
        apply_overrides(raw, overrides)
        return cls.from_dict(raw, source=str(path), base_dir=base)

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
        """Read a scenario file; `overrides` are `KEY=VALUE` strings as given to `--set`."""
        path = Path(path)
        source = str(path)
        try:
            text = path.read_text()
        except OSError as exc:
            raise ScenarioError(source, [("", f"cannot read the file: {exc.strerror}")]) from None
        except UnicodeDecodeError as exc:
            raise ScenarioError(source, [("", f"not a text file (byte {exc.object[exc.start]:#04x} at offset "
                                              f"{exc.start} is not UTF-8); a scenario is a YAML text file")]) from None
        try:
            raw = yamlio.load(text)
        except yaml.YAMLError as exc:
            where = getattr(exc, "problem_mark", None)
            at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
            raise ScenarioError(source, [("", f"not valid YAML{at}: {getattr(exc, 'problem', exc)}")]) from None
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise ScenarioError(source, [("", f"expected a mapping of keys, got {type(raw).__name__}")])
        raw.setdefault("name", path.stem)
        apply_overrides(raw, overrides)
        return cls.from_dict(raw, source=source, base_dir=path.parent)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], source: str = "Scenario(...)",
                  base_dir: str | Path = ".") -> Scenario:
        problems = [(key, _unknown_key_message(key)) for key in raw if key not in KEYS]
        if "configspace" not in raw:
            problems.append(("configspace", "is required (a file path or an inline ConfigSpace dict)"))
        known = {k: v for k, v in raw.items() if k in KEYS}
        if problems and "configspace" in known:  # check the known keys too: every problem in one round
            try:
                cls(**known, source=source, base_dir=str(base_dir))
            except ScenarioError as exc:
                problems.extend(exc.problems)
        if problems:
            raise ScenarioError(source, problems)
        return cls(**known, source=source, base_dir=str(base_dir))

    @property
    def cutoff(self) -> float | None:
        """run_objective runtime: the cutoff of one run in seconds; None otherwise."""
        if self.run_objective != "runtime":
            return None
        return self.runtime_cutoff if self.runtime_cutoff is not None else self.trial_walltime_limit

    @property
    def capping(self) -> bool:
        """Whether runs of challengers are capped at what could still win (adaptive capping)."""
        return self.run_objective == "runtime" and self.adaptive_capping is not False

    @property
    def crash_costs(self) -> tuple[float, ...]:
        """`crash_cost` as validated: one per objective."""
        return self.crash_cost if isinstance(self.crash_cost, tuple) else (float(self.crash_cost),)

    def replace(self, **changes: Any) -> Scenario:
        return dataclasses.replace(self, **changes)

    # -- views ---------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain data, as written to the run folder's `scenario.yaml` (paths resolved)."""
        out: dict[str, Any] = {}
        for key in KEYS:
            value = getattr(self, key)
            if key == "configspace":
                value = value.to_serialized_dict()
            elif key == "target":
                value = None if value is None else (list(value.argv) if value.kind == "command"
                                                    else value.describe())
            elif key == "psmac":
                value = {**dataclasses.asdict(value), "input_dirs": list(value.input_dirs)}
            elif key == "instance_features" and value is not None:
                value = {k: list(v) for k, v in value.items()}
            elif isinstance(value, tuple):
                value = list(value)
            out[key] = value
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def changed_keys(self, other: Scenario) -> list[str]:
        """Keys whose values differ between two scenarios."""
        mine, theirs = self.to_dict(), other.to_dict()
        mine["configspace"] = configspace_to_json(self.configspace)
        theirs["configspace"] = configspace_to_json(other.configspace)
        return [k for k in KEYS if mine[k] != theirs[k]]

    @property
    def run_dir(self) -> Path:
        """`{output_directory}/{name}/{seed}`, as SMAC3 lays it out."""
        return Path(self.output_directory) / self.name / str(self.seed)


KEYS = tuple(f.name for f in dataclasses.fields(Scenario) if f.name not in ("source", "base_dir"))


def _unknown_key_message(key: str) -> str:
    if key in MISPLACED_KEYS:
        return f"is not a scenario key: {MISPLACED_KEYS[key]}"
    close = difflib.get_close_matches(str(key), KEYS, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"is not a scenario key{hint}"


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str]) -> None:
    """Apply `KEY=VALUE` strings; values are read as YAML (`5`, `.inf`, `[a, b]`, `null`)."""
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ScenarioError("--set", [(item, "expected KEY=VALUE")])
        try:
            value = yamlio.load(text) if text.strip() else None
        except yaml.YAMLError:
            value = text
        *parents, last = key.split(".")
        node = raw
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ScenarioError("--set", [(key, f"'{part}' is not a mapping")])
        node[last] = value


# -- validation ---------------------------------------------------------------------------------

class _Bad(ValueError):
    pass


def _number(value: Any, *, positive: bool = False, allow_inf: bool = True, integer: bool = False,
            minimum: float | None = None) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("inf", ".inf", "infinity"):
        value = math.inf
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(float(value)):
        kind = "an integer" if integer else "a number"
        raise _Bad(f"expected {kind}, got {value!r}")
    if integer:
        if not float(value).is_integer():
            raise _Bad(f"expected an integer, got {value!r}")
        value = int(float(value))
    elif math.isinf(value) and not allow_inf:
        raise _Bad(f"expected a finite number, got {value!r}")
    if positive and value <= 0:
        raise _Bad(f"expected a positive number, got {value!r}")
    if minimum is not None and value < minimum:
        raise _Bad(f"expected at least {minimum:g}, got {value!r}")
    return float(value) if not integer else value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Bad(f"expected true or false, got {value!r}")
    return value


def _choice(options: Sequence[str]):
    def check(value: Any) -> str:
        if value not in options:
            close = difflib.get_close_matches(str(value), options, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise _Bad(f"expected one of {', '.join(options)}; got {value!r}{hint}")
        return value
    return check


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value or "/" in value or value in (".", ".."):
        raise _Bad(f"expected a folder name without '/', got {value!r}")
    return value


def _string(value: Any) -> str:
    if not isinstance(value, (str, Path)) or not str(value):
        raise _Bad(f"expected a path, got {value!r}")
    return str(value)


def _objectives(value: Any) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, str) and n for n in names):
        raise _Bad(f"expected a name or a list of names, got {value!r}")
    if len(set(names)) != len(names):
        raise _Bad(f"names must be unique, got {list(names)}")
    return tuple(names)


def _costs(value: Any, n: int, what: str) -> tuple[float, ...]:
    values = value if isinstance(value, (list, tuple)) else [value] * n
    if len(values) != n:
        raise _Bad(f"expected one {what} per objective ({n}), got {len(values)}")
    return tuple(_number(v) for v in values)


def _reference_point(value: Any, n: int) -> tuple[float, ...] | None:
    if value is None:
        return None
    if n == 1:
        raise _Bad("is for several objectives (it bounds the hypervolume of the Pareto front)")
    if not isinstance(value, (list, tuple)):
        raise _Bad(f"expected a list of numbers, one per objective ({n}), got {value!r}")
    point = _costs(value, n, "number")
    if not all(math.isfinite(v) for v in point):
        raise _Bad(f"expected finite numbers, got {list(value)}")
    return point


def _instances(value: Any, base_dir: Path) -> tuple[str, ...] | None:
    """A list of names, or a file (relative to the scenario's folder) with one per line, as
    AClib's instance files: blank lines and lines starting with '#' are skipped."""
    if value is None:
        return None
    if isinstance(value, (str, Path)):
        path = _file(value, base_dir)
        value = [line.strip() for line in _read_text(path).splitlines()
                 if line.strip() and not line.lstrip().startswith("#")]
        if not value:
            raise _Bad(f"the file {path} names no instance")
    if not isinstance(value, (list, tuple)) or not value:
        raise _Bad(f"expected a non-empty list of instance names or a file of them, got {value!r}")
    names = tuple(str(v) for v in value)
    doubles = sorted({n for n in names if names.count(n) > 1})
    if doubles:
        raise _Bad(f"instance names must be unique; repeated: {doubles[:5]}")
    return names


def _file(value: Any, base_dir: Path) -> Path:
    path = Path(os.path.expanduser(str(value)))
    path = path if path.is_absolute() else base_dir / path
    if not path.is_file():
        raise _Bad(f"file not found: {path}")
    return path


def _read_text(path: Path) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise _Bad(f"cannot read {path}: {exc}") from None


def _features_csv(path: Path) -> dict[str, list[str]]:
    """AClib's feature file: a header row (the first column names the instance), then one row
    per instance."""
    import csv

    rows = [r for r in csv.reader(_read_text(path).splitlines()) if r and any(c.strip() for c in r)]
    if len(rows) < 2:
        raise _Bad(f"{path}: expected a header row and one row per instance")
    width = len(rows[0])
    out: dict[str, list[str]] = {}
    for n, row in enumerate(rows[1:], start=2):
        if len(row) != width:
            raise _Bad(f"{path}, line {n}: {len(row)} columns, the header has {width}")
        out[row[0].strip()] = [c.strip() for c in row[1:]]
    return out


def _features(value: Any, instances: tuple[str, ...] | None, test_instances: tuple[str, ...] | None,
              base_dir: Path) -> dict[str, tuple[float, ...]] | None:
    """Features of the instances (every training instance needs them; test instances may have
    them): a mapping instance -> numbers, or a CSV file as AClib's feature_file."""
    if value is None:
        return None
    if isinstance(value, (str, Path)):
        value = _features_csv(_file(value, base_dir))
    if not isinstance(value, Mapping):
        raise _Bad(f"expected a mapping instance -> list of numbers, or a CSV file, got {type(value).__name__}")
    if instances is None:
        raise _Bad("given without 'instances'")
    known = set(instances) | set(test_instances or ())
    out = {}
    for inst, feats in value.items():
        if str(inst) not in known:
            if isinstance(feats, list) and all(isinstance(f, str) for f in feats):
                continue  # a feature file that covers more instances than this scenario uses
            raise _Bad(f"instance '{inst}' is not in 'instances'")
        if not isinstance(feats, (list, tuple)):
            raise _Bad(f"features of '{inst}' must be a list of numbers")
        try:
            out[str(inst)] = tuple(_number(float(f) if isinstance(f, str) else f, allow_inf=False) for f in feats)
        except ValueError:
            raise _Bad(f"features of '{inst}' are not all numbers: {list(feats)[:8]}") from None
    missing = [i for i in instances if i not in out]
    if missing:
        raise _Bad(f"no features for instance(s) {missing[:5]}")
    if len({len(f) for f in out.values()}) > 1:
        raise _Bad("every instance needs the same number of features")
    return out


def _psmac(value: Any, base_dir: Path) -> PsmacSettings:
    if isinstance(value, PsmacSettings):
        return value
    if value is None:
        return PsmacSettings()
    if not isinstance(value, Mapping):
        raise _Bad(f"expected a mapping, got {value!r}")
    known = [f.name for f in dataclasses.fields(PsmacSettings)]
    unknown = [k for k in value if k not in known]
    if unknown:
        raise _Bad(f"unknown key(s) {unknown} (known: {', '.join(known)})")
    dirs = value.get("input_dirs") or []
    if isinstance(dirs, str):
        dirs = [dirs]
    if not isinstance(dirs, (list, tuple)) or not all(isinstance(d, str) and d for d in dirs):
        raise _Bad(f"input_dirs must be a folder glob or a list of them, got {value.get('input_dirs')!r}")
    dirs = [os.path.normpath(os.path.join(base_dir, os.path.expanduser(d))) for d in dirs]
    seconds = {}
    for key in ("exchange_interval", "input_interval"):
        v = value.get(key, getattr(PsmacSettings, key))
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise _Bad(f"{key} must be a number of seconds > 0, got {v!r}")
        seconds[key] = float(v)
    return PsmacSettings(tuple(dirs), **seconds)


def _validate(raw: dict[str, Any], base_dir: Path) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Check and convert every key; returns the clean values and the problems found."""
    problems: list[tuple[str, str]] = []
    clean: dict[str, Any] = {}

    def check(key: str, fn, *args: Any, **kwargs: Any) -> None:
        try:
            clean[key] = fn(raw[key], *args, **kwargs)
        except _Bad as exc:
            problems.append((key, str(exc)))
        except ValueError as exc:
            problems.append((key, str(exc)))

    def optional(fn, **kw):
        return lambda v: None if v is None else fn(v, **kw)

    check("configspace", lambda v: load_configspace(copy.deepcopy(v), base_dir))
    check("target", lambda v: v if v is None or isinstance(v, TargetSpec) else parse_target(v, base_dir))
    check("name", _name)
    check("output_directory", _string)
    check("objectives", _objectives)
    n_obj = len(clean.get("objectives", ("cost",)))
    check("deterministic", _bool)
    check("crash_cost", _costs, n_obj, "crash cost")
    check("termination_cost_threshold", lambda v: None if v is None else _costs(v, n_obj, "threshold"))
    check("reference_point", _reference_point, n_obj)
    check("n_trials", _number, integer=True, positive=True)
    check("walltime_limit", _number, positive=True)
    check("cputime_limit", _number, positive=True)
    check("trial_walltime_limit", optional(_number, positive=True))
    check("trial_memory_limit", optional(_number, positive=True))
    check("trial_threads", _number, integer=True, positive=True)
    check("use_default_config", lambda v: None if v is None else _bool(v))
    check("initial_design_size", optional(_number, integer=True, positive=True))
    check("max_config_calls", optional(_number, integer=True, positive=True))
    check("seed", _number, integer=True, minimum=0)
    check("instances", _instances, base_dir)
    check("test_instances", _instances, base_dir)
    check("instance_features", _features, clean.get("instances"), clean.get("test_instances"), base_dir)
    check("target_convention", _choice(TARGET_CONVENTIONS))
    check("run_objective", _choice(RUN_OBJECTIVES))
    check("runtime_cutoff", optional(_number, positive=True, allow_inf=False))
    check("par_factor", _number, minimum=1, allow_inf=False)
    check("runtime_measure", _choice(RUNTIME_MEASURES))
    check("adaptive_capping", lambda v: None if v is None else _bool(v))
    check("adaptive_capping_slackfactor", _number, minimum=1, allow_inf=False)
    check("min_budget", optional(_number, positive=True, allow_inf=False))
    check("max_budget", optional(_number, positive=True, allow_inf=False))
    check("eta", _number, minimum=2, allow_inf=False)
    check("n_brackets", optional(_number, integer=True, positive=True))
    check("brackets", _choice(BRACKETS))
    check("facade", _choice(FACADES))
    check("mode", _choice(MODES))
    check("groups", optional(_number, integer=True, positive=True))
    check("reproducible", _bool)
    check("reproducible_lag", _number, integer=True, minimum=0)
    check("checkpoint_interval", _number, integer=True, positive=True)
    check("job_end_margin", _number, minimum=0, allow_inf=False)
    check("snapshot_interval", _number, minimum=0)
    check("gpus_per_worker", _number, integer=True, minimum=0)
    check("psmac", _psmac, base_dir)

    lo, hi = clean.get("min_budget"), clean.get("max_budget")
    if (lo is None) != (hi is None) and "min_budget" in clean and "max_budget" in clean:
        problems.append(("max_budget" if hi is None else "min_budget",
                         "min_budget and max_budget go together: give both or neither"))
    elif lo is not None and hi is not None and lo > hi:
        problems.append(("min_budget", f"is larger than max_budget ({lo:g} > {hi:g})"))
    if "use_default_config" in clean and clean["use_default_config"] is None:  # a solver's default is its
        clean["use_default_config"] = clean.get("facade") == "algorithm_configuration"  # authors' best guess
    if clean.get("facade") == "algorithm_configuration" and "instances" in clean and clean["instances"] is None:
        problems.append(("instances", "is required by 'facade: algorithm_configuration' (a list, or a file "
                                      "with one instance per line)"))
    problems.extend(_runtime_problems(clean))
    if clean.get("test_instances") is not None and clean.get("instances") is None and "instances" in clean:
        problems.append(("test_instances", "given without 'instances'"))
    target = clean.get("target")
    if isinstance(target, TargetSpec) and clean.get("target_convention", "smac3") != target.convention:
        if target.kind != "command":
            problems.append(("target_convention", "is for command targets (a Python function is called "
                                                  "with keywords)"))
        else:
            clean["target"] = dataclasses.replace(target, convention=clean["target_convention"])
    if clean.get("facade") == "multi_fidelity":
        problems.extend(_multi_fidelity_problems(clean))
    else:
        problems.extend((key, "is a setting of 'facade: multi_fidelity'") for key in _DEFAULTS
                        if key in clean and clean[key] != _DEFAULTS[key])
    if clean.get("mode") in ("psmac", "groups") and clean.get("reproducible"):
        problems.append(("reproducible", f"is for mode master_worker: {clean['mode']} shares runs as they finish"))
    if clean.get("groups") is not None and clean.get("mode") != "groups":
        problems.append(("groups", "is the number of groups of mode groups: set 'mode: groups' with it"))
    return clean, problems


_DEFAULTS = {"eta": 3.0, "n_brackets": None, "brackets": "learned"}
_RUNTIME_DEFAULTS = {"runtime_cutoff": None, "par_factor": 10.0, "runtime_measure": "cpu",
                     "adaptive_capping": None, "adaptive_capping_slackfactor": 1.3}


def _runtime_problems(clean: dict[str, Any]) -> list[tuple[str, str]]:
    """run_objective runtime: one objective, a cutoff, no multi-fidelity; crashes cost as much
    as timeouts unless crash_cost is set. The runtime keys mean nothing otherwise."""
    if clean.get("run_objective") != "runtime":
        return [(key, "is a setting of 'run_objective: runtime'") for key, default in _RUNTIME_DEFAULTS.items()
                if key in clean and clean[key] != default]
    problems = []
    if len(clean.get("objectives", ("cost",))) > 1:
        problems.append(("objectives", "run_objective runtime has one objective, the runtime"))
    if clean.get("facade") == "multi_fidelity":
        problems.append(("run_objective", "runtime is not for facade multi_fidelity (its budgets are the fidelity)"))
    cutoff = clean.get("runtime_cutoff") or clean.get("trial_walltime_limit")
    if cutoff is None and "runtime_cutoff" in clean and "trial_walltime_limit" in clean:
        problems.append(("runtime_cutoff", "is required by 'run_objective: runtime' (the seconds one run may "
                                           "take; a timeout costs par_factor times it)"))
    elif cutoff is not None and "par_factor" in clean and clean.get("crash_cost") == (math.inf,):
        clean["crash_cost"] = (clean["par_factor"] * cutoff,)  # a crash is no better than a timeout
    return problems


def _multi_fidelity_problems(clean: dict[str, Any]) -> list[tuple[str, str]]:
    """What facade multi_fidelity needs: both budgets, at least two budget levels between them
    (max/min >= eta), one objective, and no more brackets than budget levels."""
    lo, hi, eta = clean.get("min_budget"), clean.get("max_budget"), clean.get("eta")
    if lo is None or hi is None:
        missing = [k for k in ("min_budget", "max_budget") if clean.get(k) is None and k in clean]
        return [(k, "is required by 'facade: multi_fidelity' (the trials' smallest and largest budget)")
                for k in missing]
    if len(clean.get("objectives", ("cost",))) > 1:
        return [("objectives", "facade multi_fidelity takes one objective in this version")]
    if eta is None or lo > hi:
        return []  # reported already
    if hi / lo < eta * (1 - 1e-9):
        return [("max_budget", f"max_budget / min_budget = {hi / lo:g} is below eta = {eta:g}: there is only "
                               "one budget level; lower min_budget or eta, or use facade hpo")]
    n_rungs = budget_levels(lo, hi, eta)
    n = clean.get("n_brackets")
    if n is not None and n > len(n_rungs):
        return [("n_brackets", f"is {n}, but there are only {len(n_rungs)} budget levels "
                               f"({', '.join(f'{b:g}' for b in n_rungs)})")]
    return []


def budget_levels(min_budget: float, max_budget: float, eta: float) -> tuple[float, ...]:
    """The budgets of successive halving, smallest first: max_budget / eta^k down to the last
    one not below min_budget (SMAC3's Hyperband budgets)."""
    n = int(math.floor(math.log(max_budget / min_budget) / math.log(eta) + 1e-9)) + 1
    return tuple(float(max_budget) * eta ** (r - n + 1) for r in range(n))
