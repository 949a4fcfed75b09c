"""`mpismac.smac`: scripts written against SMAC3 2.x's API run on mpismac after one import line
changes, serially and under `mpiexec`; what we have no knob for is refused, naming it."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import pytest
from ConfigSpace import ConfigurationSpace, Float

from mpismac.errors import ScenarioError, UserError
from mpismac.smac import (
    AlgorithmConfigurationFacade,
    BlackBoxFacade,
    HyperparameterOptimizationFacade,
    MultiFidelityFacade,
    Scenario,
)

from .conftest import DATA, mpirun, needs_mpiexec, run_cli

SCRIPTS = DATA / "smac3_scripts"
N_TRIALS = {"quickstart": 25, "ask_and_tell": 30, "svm_conditional": 20, "instances": 30}


def _space() -> ConfigurationSpace:
    cs = ConfigurationSpace(seed=0)
    cs.add([Float("x", (-5, 5)), Float("y", (-5, 5))])
    return cs


def _results(out: str) -> list[dict]:
    """Every rank's result line (mpiexec may interleave the ranks' lines, not split one)."""
    decoder = json.JSONDecoder()
    return [decoder.raw_decode(out, m.start())[0] for m in re.finditer(r'\{"incumbent"', out)]


def _run(script: str, api: str, out_dir, ranks: int = 1) -> dict:
    args = (str(SCRIPTS / f"{script}.py"), api, str(out_dir))
    if ranks > 1:
        proc = mpirun(ranks, *args, timeout=240)
    else:
        proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = _results(proc.stdout)
    assert len(results) == ranks and all(r == results[0] for r in results), proc.stdout  # every rank: rank 0's
    return results[0]


def _check(result: dict, script: str) -> None:
    assert result["trials"] == N_TRIALS[script], result
    assert math.isfinite(result["cost"]) and result["cost"] < result["default_cost"], result


# -- mapping and refusals (fast) -------------------------------------------------------------------------


@pytest.mark.fast
def test_smac3_scenario_fields_map_to_ours(tmp_path):
    scenario = Scenario(_space(), name="s", output_directory=tmp_path, objectives=["a", "b"], n_trials=7,
                        crash_cost=[1.0, 2.0], walltime_limit=30, trial_walltime_limit=2.5, seed=4)
    ours = HyperparameterOptimizationFacade(scenario, "m:f")._ours
    assert (ours.objectives, ours.n_trials, ours.crash_cost, ours.seed) == (("a", "b"), 7, (1.0, 2.0), 4)
    assert (ours.walltime_limit, ours.trial_walltime_limit, ours.termination_cost_threshold) == (30, 2.5, None)
    assert ours.run_dir == tmp_path / "s" / "4"
    unnamed = Scenario(_space(), output_directory=tmp_path)
    assert len(unnamed.run_name) == 32 and unnamed.run_name == Scenario(_space(), output_directory=tmp_path).run_name
    assert BlackBoxFacade(scenario, "m:f")._ours.facade == "blackbox"


@pytest.mark.fast
def test_get_helpers_set_our_knobs(tmp_path):
    scenario = Scenario(_space(), output_directory=tmp_path, n_trials=40)
    hpo = HyperparameterOptimizationFacade
    facade = hpo(scenario, "m:f", initial_design=hpo.get_initial_design(scenario, n_configs=5),
                 intensifier=hpo.get_intensifier(scenario, max_config_calls=1),
                 random_design=hpo.get_random_design(scenario, probability=0.0), model=hpo.get_model(scenario))
    assert (facade._ours.initial_design_size, facade._ours.max_config_calls) == (5, 1)
    ratio = hpo(scenario, "m:f", initial_design=hpo.get_initial_design(scenario, max_ratio=0.1))
    assert ratio._ours.initial_design_size == 4  # SMAC3's rule: min(10 per hyperparameter, 0.1 * 40)
    assert hpo(scenario, "m:f")._ours.initial_design_size is None  # ours, not SMAC3's 10 per hyperparameter


@pytest.mark.fast
@pytest.mark.parametrize("call,named", [
    (lambda s: HyperparameterOptimizationFacade.get_random_design(s, probability=0.2), "probability"),
    (lambda s: HyperparameterOptimizationFacade.get_model(s, n_trees=20), "n_trees"),
    (lambda s: HyperparameterOptimizationFacade.get_intensifier(s, max_incumbents=3), "max_incumbents"),
    (lambda s: HyperparameterOptimizationFacade.get_acquisition_function(s, xi=0.1), "xi"),
    (lambda s: HyperparameterOptimizationFacade(s, "m:f", initial_design=object()), "initial_design"),
    (lambda s: HyperparameterOptimizationFacade(s, "m:f", dask_client=object()), "mpiexec -n N"),
    (lambda s: HyperparameterOptimizationFacade(Scenario(s.configspace, n_workers=4), "m:f"), "mpiexec -n N"),
    (lambda s: HyperparameterOptimizationFacade(s, "m:f", callbacks=[object()]), "callbacks"),
    (lambda s: MultiFidelityFacade.get_intensifier(s, incumbent_selection="any_budget"), "incumbent_selection"),
    (lambda s: MultiFidelityFacade.get_intensifier(s, n_seeds=3), "n_seeds"),
    (lambda s: AlgorithmConfigurationFacade(s, "m:f"), "instances"),
])
def test_what_has_no_knob_is_refused_by_name(tmp_path, call, named):
    with pytest.raises(UserError) as err:
        call(Scenario(_space(), output_directory=tmp_path))
    assert named in str(err.value)


@pytest.mark.fast
def test_a_smac3_scenario_field_we_lack_names_itself(tmp_path):
    with pytest.raises(ScenarioError) as err:
        HyperparameterOptimizationFacade(Scenario(_space(), output_directory=tmp_path, adaptive_capping=True), "m:f")
    assert "adaptive_capping" in str(err.value) and "AlgorithmConfigurationFacade's" in str(err.value)


# -- SMAC3's documented scripts, one import line changed ----------------------------------------------------


@pytest.mark.parametrize("script", ["quickstart", "ask_and_tell", "svm_conditional", "instances"])
def test_smac3_scripts_run_serially_as_with_smac3(tmp_path, script):
    """Each script runs to its budget with a better incumbent than the default, on mpismac; the
    quickstart also with SMAC3 itself, to show the script is SMAC3's (benchmarks/smac3_scripts.py
    runs them all with both)."""
    ours = _run(script, "mpismac", tmp_path / "ours")
    _check(ours, script)
    folders = [p for p in (tmp_path / "ours").glob("*/0") if p.is_dir()]
    assert len(folders) == 1  # an mpismac run folder (a name hashed from the scenario, as SMAC3 makes it)
    report = json.loads(run_cli("report", str(folders[0]), "--json").stdout)
    assert report["trials"] == N_TRIALS[script]
    if script == "quickstart":
        pytest.importorskip("smac")
        _check(_run(script, "smac", tmp_path / "smac"), script)


@needs_mpiexec
@pytest.mark.parametrize("script", ["ask_and_tell", "instances"])
def test_smac3_scripts_run_master_worker_under_mpiexec(tmp_path, script):
    """The same script under `mpiexec -n 4`: every rank gets rank 0's result, and the workers ran
    the trials of `optimize()` (all three of them on the folds; the ask/tell script's trials take
    microseconds, so the first workers ready may run all of them)."""
    _check(_run(script, "mpismac", tmp_path, ranks=4), script)
    folder = next(p for p in tmp_path.glob("*/0") if p.is_dir())
    workers = json.loads(run_cli("report", str(folder), "--json").stdout)["workers"]
    used = {w for w, v in workers.items() if v["trials"] > 0 and w != "0"}
    if script == "instances":
        assert used == {"1", "2", "3"}, workers
    else:  # rank 0 recorded the ten told trials as its own; the workers ran the other twenty
        assert workers["0"]["trials"] == 10 and sum(workers[w]["trials"] for w in used) == 20, workers


def test_ask_tell_runhistory_reads_and_a_front_in_process(tmp_path):
    """Ask/tell without optimize: the run folder holds the trials, the runhistory reads as SMAC3's,
    and with two objectives the incumbents are the front (get_incumbent refuses, as SMAC3 does)."""
    from mpismac.smac.runhistory import StatusType, TrialInfo, TrialValue

    scenario = Scenario(_space(), name="mo", output_directory=tmp_path, objectives=["a", "b"], n_trials=12,
                        deterministic=True)
    smac = HyperparameterOptimizationFacade(scenario, "m:f", logging_level=False)
    for _ in range(12):
        info = smac.ask()
        x, y = info.config["x"], info.config["y"]
        smac.tell(info, TrialValue(cost=[x**2 + y**2, (x - 2) ** 2 + y**2], time=0.01))
    with pytest.raises(UserError, match="ask"):
        smac.tell(TrialInfo(info.config, seed=info.seed), TrialValue(cost=[0.0, 0.0]))
    front = smac.intensifier.get_incumbents()
    assert len(front) >= 2 and all(c in smac.runhistory.config_ids for c in front)
    with pytest.raises(ValueError, match="get_incumbents"):
        smac.intensifier.get_incumbent()
    with pytest.raises(UserError, match="sort_by"):
        smac.intensifier.get_incumbents(sort_by="num_trials")
    with pytest.raises(UserError, match="save=False"):
        smac.tell(info, TrialValue(cost=[0.0, 0.0]), save=False)  # never silently unrecorded
    rh = smac.runhistory
    assert len(rh) == 12 and rh.finished == 12 and all(v.status == StatusType.SUCCESS for _, v in rh.items())
    best = rh.get_configs(sort_by="cost")[0]
    assert rh.get_cost(best) == min(rh.get_cost(c) for c in rh.get_configs())
    assert rh.get_config(rh.get_config_id(best)) == best and rh.get_config_id(rh.get_configs()[0]) == 1
    smac._close_ask_tell()
    reread = HyperparameterOptimizationFacade(scenario, "m:f")
    assert len(reread.runhistory) == 12 and reread.intensifier.get_incumbents() == front  # from the folder


def test_algorithm_configuration_facade_caps_as_smac3s_example(tmp_path, monkeypatch):
    """SMAC3's adaptive-capping example on mpismac.smac: the target gets `cutoff` (less than
    runtime_cutoff for challengers once an incumbent exists), its wall time is the cost, and
    some challenger is stopped at its cap."""
    from ConfigSpace import ConfigurationSpace, Float

    from mpismac.runhistory.folder import load_run
    from mpismac.trial import Status

    monkeypatch.setenv("CUTOFFS", str(tmp_path / "cutoffs.txt"))
    cs = ConfigurationSpace(seed=0)
    cs.add([Float("x0", (0, 5), default=5), Float("x1", (0, 7), default=7)])
    scenario = Scenario(cs, output_directory=tmp_path, deterministic=True, n_trials=30,
                        instances=["1", "2", "3"], instance_features={"1": [1.0], "2": [2.0], "3": [3.0]},
                        adaptive_capping=True, runtime_cutoff=1, name="capping")
    smac = AlgorithmConfigurationFacade(scenario, f"{DATA / 'runtime_targets.py'}:capped_sleeper", overwrite=True)
    incumbent = smac.optimize()
    assert incumbent is not None
    cutoffs = [float(c) for c in (tmp_path / "cutoffs.txt").read_text().split()]
    assert max(cutoffs) == 1.0 and min(cutoffs) < 1.0
    trials = load_run(tmp_path / "capping" / "0").state.runhistory.trials.values()
    assert any(r.status == Status.CAPPED for r in trials)
