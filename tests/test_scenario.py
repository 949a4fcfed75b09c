"""Scenario validation: every broken scenario exits 2 naming the file and key, no traceback."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from mpismac.errors import ScenarioError
from mpismac.scenario import Scenario

from .conftest import DATA, run_cli

GOOD = f"""
target: {DATA / 'targets.py'}:quadratic
configspace:
  hyperparameters:
    - {{type: uniform_float, name: x, lower: -5, upper: 10}}
    - {{type: uniform_float, name: y, lower: 0, upper: 15}}
facade: random
n_trials: 5
"""

BROKEN = [
    ("n_trials: -3", "n_trials", "positive"),
    ("initial_design_size: 0", "initial_design_size", "positive"),
    ("max_config_calls: 1.5", "max_config_calls", "integer"),
    ("n_trial: 10", "n_trial", "did you mean 'n_trials'"),
    ("n_workers: 8", "n_workers", "mpiexec -n"),
    ("facade: algorithm_configuration", "instances", "is required by 'facade: algorithm_configuration'"),
    ("run_objective: runtime", "runtime_cutoff", "is required by 'run_objective: runtime'"),
    ("par_factor: 5", "par_factor", "is a setting of 'run_objective: runtime'"),
    ("run_objective: speed", "run_objective", "expected one of quality, runtime"),
    ("instances: missing.txt", "instances", "file not found"),
    ("test_instances: [a]", "test_instances", "given without 'instances'"),
    ("target_convention: aclib", "target_convention", "is for command targets"),
    ("facade: multi_fidelity", "min_budget", "is required by 'facade: multi_fidelity'"),
    ("facade: multi_fidelity\nmin_budget: 1\nmax_budget: 2", "max_budget", "only one budget level"),
    ("facade: multi_fidelity\nmin_budget: 1\nmax_budget: 81\neta: 1.5", "eta", "at least 2"),
    ("facade: multi_fidelity\nmin_budget: 1\nmax_budget: 81\nn_brackets: 6", "n_brackets", "only 5 budget levels"),
    ("facade: multi_fidelity\nmin_budget: 0\nmax_budget: 81", "min_budget", "positive"),
    ("eta: 2", "eta", "facade: multi_fidelity"),
    ("brackets: hyperband", "brackets", "facade: multi_fidelity"),
    ("facade: multi_fidelity\nmin_budget: 1\nmax_budget: 81\nbrackets: learnt", "brackets", "expected one of"),
    ("facade: bayes", "facade", "expected one of"),
    ("mode: psmac\nreproducible: true", "reproducible", "is for mode master_worker"),
    ("mode: groups\nreproducible: true", "reproducible", "is for mode master_worker"),
    ("groups: 3", "groups", "set 'mode: groups' with it"),
    ("mode: groups\ngroups: 0", "groups", "positive"),
    ("psmac: {exchange_interval: 0}", "psmac", "exchange_interval must be a number of seconds > 0"),
    ("seed: 1.5", "seed", "integer"),
    ("deterministic: maybe", "deterministic", "true or false"),
    ("trial_walltime_limit: -1", "trial_walltime_limit", "positive"),
    ("trial_memory_limit: lots", "trial_memory_limit", "number"),
    ("objectives: [a, b]\ncrash_cost: [1, 2, 3]", "crash_cost", "one crash cost per objective"),
    ("min_budget: 10\nmax_budget: 1", "min_budget", "larger than max_budget"),
    ("min_budget: 1", "max_budget", "go together"),
    ("instance_features: {a: [1]}", "instance_features", "without 'instances'"),
    ("instances: [a, b]\ninstance_features: {a: [1], b: [1, 2]}", "instance_features", "same number"),
    ("configspace: missing.json", "configspace", "file not found"),
    ("target: nowhere.py:f", "target", "file not found"),
    ("target: no-such-program-xyz", "target", "not on PATH"),
    ("name: a/b", "name", "without '/'"),
    ("psmac: {input_dir: x}", "psmac", "unknown key"),
    ("configspace:\n  hyperparameters:\n    - {type: uniform_float, name: x, lower: 0, upper: '1e1'}",
     "configspace", "hyperparameter 'x': 'upper' must be a number, got '1e1'"),
    ("configspace:\n  hyperparameters:\n    - {type: uniform_float, name: x, lower: 5, upper: 1}",
     "configspace", "hyperparameter 'x': "),
    ("configspace: [1, 2]", "configspace", "inline ConfigSpace dict, got list"),
    ("configspace: {hyperparameters: []}", "configspace", "no hyperparameters"),
    ("configspace:\n  hyperparameters:\n    - {type: uniform_float, name: x, lower: 0, upper: 1}\n"
     "  conditions:\n    - {type: EQ, child: x, parent: nope, value: 1}", "configspace", "conditions"),
    ("psmac: {input_dirs: 3}", "psmac", "input_dirs must be a folder glob or a list of them, got 3"),
    ("psmac: {input_dirs: [a, 5]}", "psmac", "input_dirs must be a folder glob or a list of them"),
    ("num_workers: 4", "num_workers", "mpiexec -n"),
]


def _write(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "scenario.yaml"
    lines = [ln for ln in GOOD.strip().splitlines()]
    keys = {ln.split(":")[0] for ln in extra.splitlines() if not ln.startswith(" ")}
    kept, skip = [], False
    for ln in lines:  # drop the good value of a key the broken text sets
        if not ln.startswith(" "):
            skip = ln.split(":")[0] in keys
        if not skip:
            kept.append(ln)
    path.write_text("\n".join(kept) + "\n" + extra + "\n")
    return path


@pytest.mark.parametrize("extra,key,why", BROKEN, ids=[b[1] + "-" + b[2][:12] for b in BROKEN])
def test_broken_scenario_names_key(tmp_path, extra, key, why):
    path = _write(tmp_path, extra)
    with pytest.raises(ScenarioError) as err:
        Scenario.from_yaml(path)
    message = str(err.value)
    assert str(path) in message and f"key '{key}'" in message and why in message


@pytest.mark.parametrize("extra,key,why", BROKEN[:12], ids=[b[1] for b in BROKEN[:12]])
def test_cli_exits_2_without_traceback(tmp_path, extra, key, why):
    proc = run_cli("validate", str(_write(tmp_path, extra)))
    assert proc.returncode == 2, proc.stderr
    assert f"key '{key}'" in proc.stderr and why in proc.stderr
    assert "Traceback" not in proc.stderr


def test_all_problems_reported_at_once(tmp_path):
    path = _write(tmp_path, "n_trials: 0\nseed: -1\nwalltime_limit: soon")
    with pytest.raises(ScenarioError) as err:
        Scenario.from_yaml(path)
    assert {k for k, _ in err.value.problems} == {"n_trials", "seed", "walltime_limit"}


def test_unknown_and_bad_keys_reported_together(tmp_path):
    with pytest.raises(ScenarioError) as err:
        Scenario.from_yaml(_write(tmp_path, "n_trial: 5\nseed: -2"))
    assert {k for k, _ in err.value.problems} == {"n_trial", "seed"}


def test_one_crash_cost_for_every_objective(tmp_path):
    s = Scenario.from_yaml(_write(tmp_path, "objectives: [loss, time]"))
    assert s.crash_cost == (math.inf, math.inf)


def test_yaml_syntax_error_names_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("n_trials: 5\n  bad: [\n")
    proc = run_cli("validate", str(path))
    assert proc.returncode == 2 and "line" in proc.stderr and "Traceback" not in proc.stderr


def test_good_scenario_and_defaults(tmp_path):
    s = Scenario.from_yaml(_write(tmp_path, ""))
    assert s.name == "scenario" and s.n_trials == 5 and s.crash_cost == (math.inf,)
    assert s.target.kind == "function" and s.target.function == "quadratic"
    assert s.run_dir == Path("mpismac_output/scenario/0")


def test_set_overrides(tmp_path):
    s = Scenario.from_yaml(_write(tmp_path, ""), ["n_trials=7", "walltime_limit=.inf", "psmac.input_dirs=[a, b]",
                                                   "objectives=[loss, time]", "crash_cost=[1, 2]"])
    assert s.n_trials == 7 and math.isinf(s.walltime_limit)
    assert s.psmac.input_dirs == (str(tmp_path / "a"), str(tmp_path / "b"))  # relative to the scenario file
    assert s.objectives == ("loss", "time") and s.crash_cost == (1.0, 2.0)
    with pytest.raises(ScenarioError) as err:
        Scenario.from_yaml(_write(tmp_path, ""), ["n_trials=many"])
    assert "n_trials" in str(err.value)


def test_configspace_readers(tmp_path, space):
    space.to_json(tmp_path / "cs.json")
    space.to_yaml(tmp_path / "cs.yaml")
    (tmp_path / "cs.pcs").write_text("x real [-5.0, 10.0] [2.5]\ny real [0.0, 15.0] [7.5]\n")
    for name in ("cs.json", "cs.yaml", "cs.pcs"):
        s = Scenario(configspace=name, base_dir=str(tmp_path), facade="random")
        assert sorted(s.configspace.keys()) == ["x", "y"], name
    s = Scenario(configspace=space.to_serialized_dict(), facade="random")
    assert s.configspace == space


def test_command_target_parsed(tmp_path):
    s = Scenario.from_yaml(_write(tmp_path, f"target: {DATA / 'cmd_target.py'} --fixed=1"))
    assert s.target.kind == "command" and s.target.argv[-1] == "--fixed=1"


def test_resolved_yaml_round_trip(tmp_path):
    s = Scenario.from_yaml(_write(tmp_path, "instances: [a, b]\ninstance_features: {a: [1, 2], b: [3, 4]}"))
    import yaml

    again = Scenario.from_dict(yaml.safe_load(s.to_yaml()))
    assert again.changed_keys(s) == []
    assert s.replace(n_trials=9).changed_keys(s) == ["n_trials"]


def test_numbers_are_read_as_yaml_1_2_reads_them(tmp_path):
    """`1e3`, `1e-5` and `1.5e1` are numbers (YAML 1.1, PyYAML's default, makes them strings): in
    keys, in `--set` values and in an inline configuration space."""
    space = ("configspace:\n  hyperparameters:\n"
             "    - {type: uniform_float, name: x, lower: 1e-5, upper: 1e1, log: true}\n")
    path = _write(tmp_path, space + "crash_cost: 1e3\ntermination_cost_threshold: 1e-5\ntrial_walltime_limit: 1.5e1")
    s = Scenario.from_yaml(path, ["walltime_limit=2e3"])
    assert s.crash_cost == (1000.0,) and s.termination_cost_threshold == (1e-5,)
    assert s.trial_walltime_limit == 15.0 and s.walltime_limit == 2000.0
    assert (s.configspace["x"].lower, s.configspace["x"].upper) == (1e-5, 10.0)
    assert run_cli("validate", str(path)).returncode == 0


def test_a_binary_file_is_not_a_scenario(tmp_path):
    path = tmp_path / "image.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    for args in (("validate", str(path)), (str(path),)):
        proc = run_cli(*args)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.strip() == f"mpismac: error: {path}: not a text file (byte 0x89 at offset 0 is not " \
                                      "UTF-8); a scenario is a YAML text file"


@pytest.mark.parametrize("extra,key,why", BROKEN[-3:], ids=[b[0][:20] for b in BROKEN[-3:]])
def test_cli_exits_2_on_psmac_input_dirs_and_num_workers(tmp_path, extra, key, why):
    proc = run_cli(str(_write(tmp_path, extra)))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert f"key '{key}'" in proc.stderr and why in proc.stderr


@pytest.mark.parametrize("name,text,why", [
    ("list.json", '[{"type": "uniform_float", "name": "x", "lower": 0, "upper": 1}]', "got list"),
    ("bad.pcs", "x real [1, 0] [0.5]\n", "not a readable .pcs file"),
    ("garbage.pcs", "garbage\n", "no hyperparameters"),
    ("broken.json", '{"hyperparameters": [', "not valid JSON at line 1"),
])
def test_a_configspace_file_that_does_not_read_is_a_user_mistake(tmp_path, name, text, why):
    (tmp_path / name).write_text(text)
    proc = run_cli("validate", str(_write(tmp_path, f"configspace: {name}")))
    assert proc.returncode == 2 and "key 'configspace'" in proc.stderr and why in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_command_target_that_is_not_executable_is_refused_by_run_as_by_validate(tmp_path):
    program = tmp_path / "cmd.py"
    program.write_text("#!/usr/bin/env python3\nprint('cost=1.0')\n")
    program.chmod(0o644)
    path = _write(tmp_path, f"target: {program}")
    for command in (("validate", str(path)), (str(path),)):
        proc = run_cli(*command)
        assert proc.returncode == 2 and "is not executable" in proc.stderr and "chmod +x" in proc.stderr
