"""Algorithm configuration: runtime measured in CPU seconds of the trial and its children, the
cutoff and adaptive caps enforced on real trial processes, racing that drops a capped
challenger, instance and feature files, the AClib wrapper convention and scenario file, and
capping in a real `mpiexec` job."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ConfigSpace import ConfigurationSpace

from mpismac import Optimizer, Scenario
from mpismac.errors import ScenarioError
from mpismac.execution import ChildExecutor, Limits, RuntimeRule, TrialRequest, TrialSetup
from mpismac.runhistory.folder import load_run
from mpismac.target import TargetSpec, command_argv, parse_aclib_output
from mpismac.trial import Status, TrialValue

from .conftest import DATA, REPO, figure, mpirun, needs_mpiexec, run_cli

SPACE = ConfigurationSpace({"t": (0.01, 5.0)})


def _executor(tmp_path: Path, function: str, rule: RuntimeRule) -> ChildExecutor:
    setup = TrialSetup(SPACE, ("cost",), (rule.par_factor * rule.cutoff,), None, rule)
    ex = ChildExecutor(TargetSpec("function", function=function, path=str(DATA / "runtime_targets.py")), setup,
                       Limits(), tmp_path / "trial.log")
    ex.start()
    return ex


def _run(ex: ChildExecutor, t: float, cutoff: float | None = None) -> TrialValue:
    ex.submit(TrialRequest(1, 0, {"t": t}, 0, cutoff=cutoff))
    while (value := ex.poll(0.05)) is None:
        pass
    return value


@pytest.mark.parametrize("function", ["spin", "spin_child"])
def test_cpu_runtime_cutoff_and_cap_on_a_real_trial_process(tmp_path, function):
    """The cost is the CPU time of the trial (a solver's child process included); a run that
    reaches the cutoff is a TIMEOUT that costs PAR10, one that reaches its lower cap is CAPPED
    and costs the cap; both are stopped there, not left to finish."""
    ex = _executor(tmp_path, function, RuntimeRule(cutoff=0.6, par_factor=10))
    try:
        ok = _run(ex, 0.2)
        assert ok.status == Status.SUCCESS and 0.18 <= ok.cost[0] < 0.45
        late = _run(ex, 3.0)
        assert late.status == Status.TIMEOUT and late.cost == (6.0,)
        assert late.end_time - late.start_time < 2.0  # stopped near 0.6 s of CPU, not after 3
        capped = _run(ex, 3.0, cutoff=0.3)
        assert capped.status == Status.CAPPED and 0.3 <= capped.cost[0] < 0.5  # what it ran: at least the cap
        assert capped.additional_info["cutoff"] == 0.3
        assert capped.end_time - capped.start_time < 1.5
        assert _run(ex, 0.1).status == Status.SUCCESS  # the trial process was restarted after the kills
    finally:
        ex.close()


def test_runtime_is_cpu_time_unless_wall_is_asked_for(tmp_path):
    """A target that waits uses no CPU: within a 0.3 s CPU cutoff after sleeping 0.6 s; out of
    it when the runtime is measured in wall seconds."""
    ex = _executor(tmp_path, "nap", RuntimeRule(cutoff=0.3))
    try:
        napped = _run(ex, 0.6)
        assert napped.status == Status.SUCCESS and napped.cost[0] < 0.1
    finally:
        ex.close()
    ex = _executor(tmp_path, "nap", RuntimeRule(cutoff=0.3, measure="wall"))
    try:
        assert _run(ex, 0.6).status == Status.TIMEOUT
    finally:
        ex.close()


def test_a_cap_lowered_while_the_trial_runs_stops_it(tmp_path):
    ex = _executor(tmp_path, "spin", RuntimeRule(cutoff=5.0))
    try:
        ex.submit(TrialRequest(1, 0, {"t": 3.0}, 0))
        assert ex.poll(0.1) is None
        ex.lower_cap(0.4)
        while (value := ex.poll(0.05)) is None:
            pass
        assert value.status == Status.CAPPED and 0.4 <= value.cost[0] < 0.6
        assert value.additional_info["cutoff"] is None or value.additional_info["lowered_cap"] == 0.4
    finally:
        ex.close()


def test_a_target_that_stops_itself_at_its_cap_is_capped_not_timed_out(tmp_path):
    """An AClib wrapper given a capped cutoff stops its solver there and prints TIMEOUT: that is
    a run stopped at its cap (CAPPED, a lower bound), and only at the full cutoff a TIMEOUT."""
    line = "print('Result of this algorithm run: TIMEOUT, 0.1, 0, 0, 1')"
    spec = TargetSpec("command", argv=(sys.executable, "-c", line), convention="aclib")
    setup = TrialSetup(SPACE, ("cost",), (50.0,), None, RuntimeRule(cutoff=5.0))
    ex = ChildExecutor(spec, setup, Limits(), tmp_path / "trial.log")
    ex.start()
    try:
        capped = _run(ex, 0.5, cutoff=2.0)
        assert capped.status == Status.CAPPED and capped.cost == (2.0,)
        timeout = _run(ex, 0.5)
        assert timeout.status == Status.TIMEOUT and timeout.cost == (50.0,)
    finally:
        ex.close()


def _ac(**keys) -> Scenario:
    return Scenario(configspace=ConfigurationSpace({"x": (0.0, 1.0)}), facade="algorithm_configuration",
                    instances=["a", "b", "c", "d"], run_objective="runtime", runtime_cutoff=10.0,
                    deterministic=True, n_trials=200, **keys)


def _tell(opt: Optimizer, info, seconds: float, cap_respected: bool = True) -> None:
    """Tell a runtime as the executor measures it: stopped at the trial's cap."""
    if cap_respected and info.cutoff is not None and seconds >= info.cutoff:
        status = Status.CAPPED if info.cutoff < 10.0 else Status.TIMEOUT
        cost = info.cutoff if status == Status.CAPPED else 100.0
        opt.tell(info, TrialValue((cost,), status))
    else:
        opt.tell(info, TrialValue((seconds,), Status.SUCCESS))


def test_racing_caps_challengers_at_what_could_still_win():
    """The incumbent's runs get the full cutoff; a challenger's run gets slack x the incumbent's
    time on the stage's pairs less its own finished runs; a capped run drops it at once."""
    opt = Optimizer(_ac(adaptive_capping_slackfactor=1.5))
    first = opt.ask()
    assert first.cutoff == 10.0 and first.origin == "default"  # the solver's default goes first
    _tell(opt, first, 1.0)
    while opt.incumbent is None or opt.incumbent.config_id != first.config_id:
        info = opt.ask()
        _tell(opt, info, 1.0 if info.config_id == first.config_id else 50.0)
    # the incumbent has run on its pairs (1 s each); a new challenger's first run is capped at 1.5 s
    info = opt.ask()
    while info.config_id == first.config_id:
        _tell(opt, info, 1.0)
        info = opt.ask()
    assert info.cutoff == pytest.approx(1.5)
    _tell(opt, info, 9.0)  # capped at 1.5
    record = opt.runhistory.trials[info.trial_id]
    assert record.status == Status.CAPPED
    assert info.config_id not in opt._intensifier.races  # dropped at once
    # a challenger as fast as the incumbent goes on, with caps that shrink as it spends
    follow = opt.ask()
    while follow.config_id == first.config_id:
        _tell(opt, follow, 1.0)
        follow = opt.ask()
    _tell(opt, follow, 0.5)
    assert follow.config_id in opt._intensifier.races or opt.incumbent.config_id == follow.config_id


def _stage_four(opt: Optimizer):
    """The incumbent at 1 s on each of 4 pairs; a challenger that won stages 1 and 2 (0.2 s
    each) with its two runs of stage 4 in flight."""
    inc = opt.ask()
    opt.tell(inc, TrialValue((1.0,), Status.SUCCESS))
    while opt._intensifier.n_inc < 4:
        info = opt.ask()
        opt.tell(info, TrialValue((1.0 if info.config_id == inc.config_id else 3.0,), Status.SUCCESS))
    info = opt.ask()
    while info.config_id == inc.config_id:
        opt.tell(info, TrialValue((1.0,), Status.SUCCESS))
        info = opt.ask()
    opt.tell(info, TrialValue((0.2,), Status.SUCCESS))  # stage 1 won: stage 2 is pair 1
    second = opt.ask()
    opt.tell(second, TrialValue((0.2,), Status.SUCCESS))  # stage 2 won: stage 4 is pairs 2 and 3
    third, fourth = opt.ask(), opt.ask()
    assert third.config_id == fourth.config_id == info.config_id
    return third, fourth


def test_runs_in_flight_get_lower_caps_as_their_configuration_spends():
    """Two runs of one challenger in flight: when one finishes, the other's cap drops by what it
    used; the new cap is told once."""
    opt = Optimizer(_ac(adaptive_capping_slackfactor=1.0))
    third, fourth = _stage_four(opt)
    assert third.cutoff == fourth.cutoff == pytest.approx(4 * 1.0 - 0.4)
    opt.tell(third, TrialValue((2.0,), Status.SUCCESS))
    assert opt.recaps(third.config_id) == [(fourth.trial_id, pytest.approx(1.6))]  # 4 - 0.4 - 2.0
    assert opt.recaps(third.config_id) == []
    assert third.config_id in opt._intensifier.races


def test_finished_runs_past_the_incumbents_total_drop_a_challenger_before_its_stage_ends():
    """The first of two runs in flight to finish already takes the challenger past the
    incumbent's total on the stage: it is dropped without waiting for the other, whose run
    is stopped (cap 0). Caps aside: with a slack of 100 they never bind."""
    opt = Optimizer(_ac(adaptive_capping_slackfactor=100.0))
    third, fourth = _stage_four(opt)
    opt.tell(third, TrialValue((5.0,), Status.SUCCESS))  # 0.2 + 0.2 + 5 > 4 x 1 s
    assert third.config_id not in opt._intensifier.races
    assert opt.recaps(third.config_id) == [(fourth.trial_id, 0.0)]


def test_instance_and_feature_files_and_runtime_defaults(tmp_path):
    (tmp_path / "train.txt").write_text("# training instances\ni1\n\ni2\ni3\n")
    (tmp_path / "test.txt").write_text("t1\nt2\n")
    (tmp_path / "features.csv").write_text("instance,size,ratio\ni1,10,4.2\ni2,20,4.3\ni3,30,4.1\n"
                                           "t1,15,4.2\nother,1,1\n")
    (tmp_path / "s.yaml").write_text(f"""
configspace: {DATA.parent.parent / 'examples' / 'branin.json'}
facade: algorithm_configuration
instances: train.txt
test_instances: test.txt
instance_features: features.csv
run_objective: runtime
runtime_cutoff: 5
par_factor: 3
""")
    s = Scenario.from_yaml(tmp_path / "s.yaml")
    assert s.instances == ("i1", "i2", "i3") and s.test_instances == ("t1", "t2")
    assert s.instance_features == {"i1": (10.0, 4.2), "i2": (20.0, 4.3), "i3": (30.0, 4.1), "t1": (15.0, 4.2)}
    assert s.crash_costs == (15.0,)  # a crash costs what a timeout does
    assert s.use_default_config and s.capping and s.cutoff == 5.0
    (tmp_path / "features.csv").write_text("instance,size\ni1,10\ni2,x\ni3,3\n")
    with pytest.raises(ScenarioError, match="instance_features.*'i2' are not all numbers"):
        Scenario.from_yaml(tmp_path / "s.yaml")


def test_aclib_call_and_result_line():
    spec = TargetSpec("command", argv=("wrapper",), convention="aclib")
    argv = command_argv(spec, {"alpha": 0.5, "mode": "fast"}, 7, "inst/1.cnf", None, None, cutoff=2.5)
    assert argv == ["wrapper", "inst/1.cnf", "0", "2.5", "2147483647", "7", "-alpha", "0.5", "-mode", "fast"]
    out = "c solving\nResult of this algorithm run: UNSAT, 1.25, 0, 3.5, 7, extra, info\n"
    assert parse_aclib_output(out, ("cost",)) == (Status.SUCCESS, (3.5,), {
        "aclib_status": "UNSAT", "reported_runtime": 1.25, "additional_info": "extra, info"})
    status, cost, _ = parse_aclib_output("Result for SMAC: TIMEOUT, 5, 0, 0, 1", ("cost",))
    assert status == Status.TIMEOUT and cost == ()
    with pytest.raises(ValueError, match="unknown status 'MAYBE'"):
        parse_aclib_output("Result of this algorithm run: MAYBE, 1, 0, 0, 1", ("cost",))


def _aclib_folder(tmp_path: Path, runs: int, **extra: str) -> Path:
    (tmp_path / "space.pcs").write_text("t real [0.02, 1.0] [0.2]\nmode categorical {fast, crash} [fast]\n")
    (tmp_path / "train.txt").write_text("a\nb\nc\nd\n")
    (tmp_path / "scenario.txt").write_text("\n".join([
        f"algo = {DATA / 'aclib_wrapper.py'}", "paramfile = space.pcs", "instance_file = train.txt",
        "run_obj = runtime", "overall_obj = mean10", "cutoff_time = 1.0", f"runcount_limit = {runs}",
        "deterministic = 1", "# a comment", "cli-log-all-calls = true", f"output_dir = {tmp_path / 'out'}",
        *(f"{k} = {v}" for k, v in extra.items())]) + "\n")
    return tmp_path / "scenario.txt"


def test_an_aclib_scenario_file_runs_as_it_is(tmp_path):
    """`python -m mpismac run scenario.txt`: the wrapper gets the instance, the cutoff (capped
    below 1 s for challengers), the seed and `-name value` pairs; crashes and caps are recorded."""
    path = _aclib_folder(tmp_path, 30)
    calls = tmp_path / "calls.jsonl"
    proc = run_cli("run", str(path), "--quiet", cwd=tmp_path, timeout=240,
                   env={**os.environ, "ACLIB_CALLS": str(calls)})
    assert proc.returncode == 0, proc.stderr
    assert "cli-log-all-calls" in proc.stderr  # an ignored SMAC2 key is named once
    made = [json.loads(line) for line in calls.read_text().splitlines()]
    assert {c["instance"] for c in made} == {"a", "b", "c", "d"} and {c["runlength"] for c in made} == {"2147483647"}
    assert all(c["cutoff"] <= 1.0 for c in made) and any(c["cutoff"] < 1.0 for c in made)
    assert all(set(c["params"]) == {"t", "mode"} for c in made)
    run = load_run(tmp_path / "out" / tmp_path.name / "0")  # named after the scenario's folder
    statuses = {r.status for r in run.state.runhistory.trials.values()}
    assert Status.CAPPED in statuses and Status.SUCCESS in statuses
    for r in run.state.runhistory.trials.values():  # a stop at a cap below 1 s (ours or the wrapper's own
        assert r.status != Status.TIMEOUT or r.additional_info["cutoff"] == 1.0  # TIMEOUT there) is CAPPED
    crashed = [r for r in run.state.runhistory.trials.values() if r.status == Status.CRASHED]
    assert all(r.cost == (10.0,) for r in crashed)  # PAR10 of the 1 s cutoff
    with pytest.raises(ScenarioError, match="overall_obj.*line"):
        Scenario.from_file(_aclib_folder(tmp_path, 5, overall_obj="median"))


@needs_mpiexec
def test_capping_in_a_real_mpiexec_job(tmp_path):
    """4 ranks (3 workers) racing challengers at once: runs are capped while others of the same
    challenger are in flight, no capped configuration becomes the incumbent, and the incumbent
    is among the fastest configurations that finished every instance."""
    path = _ac_scenario(tmp_path, 40)
    started = time.monotonic()
    proc = mpirun(4, "-m", "mpismac", "run", str(path), "--quiet", timeout=300)
    assert proc.returncode == 0, proc.stderr
    trials = load_run(tmp_path / "out" / "ac" / "0").state.runhistory.trials.values()
    capped = {r.config_id for r in trials if r.status == Status.CAPPED}
    assert capped, f"no challenger was capped: {sorted((r.config_id, r.instance, r.status.name) for r in trials)}"
    summary = json.loads(run_cli("report", str(tmp_path / "out" / "ac" / "0"), "--json").stdout)
    incumbent = summary["incumbent"]["config_id"]
    assert incumbent not in capped
    full = {}
    for r in trials:
        full.setdefault(r.config_id, []).append(r)
    complete = {c: sum(r.cost[0] for r in rs) / 4 for c, rs in full.items()
                if len({r.instance for r in rs}) == 4 and all(r.status == Status.SUCCESS for r in rs)}
    assert complete[incumbent] == min(complete.values()), (incumbent, complete, summary["incumbent"])
    assert time.monotonic() - started < 240
    lowered = sum("lowered_cap" in r.additional_info for r in trials)
    figure(f"adaptive capping, 3 workers, 40 trials: {sum(r.status == Status.CAPPED for r in trials)} capped, "
           f"{lowered} with a cap lowered while they ran")


@needs_mpiexec
def test_evaluate_a_run_on_its_test_instances_under_mpiexec(tmp_path):
    """`evaluate` runs the default and the incumbent on the test instances on 2 workers: a row
    per run in the CSV, the table with PAR10 and timeouts, the scatter plot; a wrong
    configuration name exits 2 naming it."""
    (tmp_path / "s.yaml").write_text(f"""
name: ev
output_directory: {tmp_path / 'out'}
configspace: {{hyperparameters: [{{type: uniform_float, name: t, lower: 0.02, upper: 0.5, default_value: 0.4}}]}}
target: {DATA / 'runtime_targets.py'}:spin
facade: algorithm_configuration
instances: [a, b]
test_instances: [a, b, c, d]
run_objective: runtime
runtime_cutoff: 1.0
deterministic: true
n_trials: 12
""")
    assert run_cli("run", str(tmp_path / "s.yaml"), "--quiet", timeout=120).returncode == 0
    run_dir = tmp_path / "out" / "ev" / "0"
    proc = mpirun(3, "-m", "mpismac", "evaluate", str(run_dir), "--plot", str(tmp_path / "scatter.png"), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "4 test instance(s), cutoff 1 s (cpu)" in proc.stdout and "PAR10" in proc.stdout
    rows = (run_dir / "evaluation" / "test.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * 4
    by_config: dict[str, list[float]] = {}
    for line in rows[1:]:
        label, instance, seed, status, cost, runtime = line.split(",")
        by_config.setdefault(label, []).append(float(cost))
    default, incumbent = by_config["default"], next(v for k, v in by_config.items() if k.startswith("incumbent"))
    assert sum(default) == max(sum(default), sum(incumbent))  # t=0.4 (1.2 s on d: a timeout) is not the best
    assert (tmp_path / "scatter.png").read_bytes()[:4] == b"\x89PNG"
    bad = run_cli("evaluate", str(run_dir), "--configs", "default,best")
    assert bad.returncode == 2 and "--configs: 'best' is not default, incumbent" in bad.stderr
    none = run_cli("evaluate", str(run_dir), "--instances", "train", "--configs", "0")
    assert none.returncode == 0 and "2 train instance(s)" in none.stdout
    smac = pytest.importorskip("smac", reason="SMAC3 is in the test extra")  # the run exported loads in SMAC3
    from smac.runhistory import RunHistory

    assert run_cli("export", str(run_dir), "--format", "smac3", "-o", str(tmp_path / "s3")).returncode == 0
    scenario = smac.Scenario.load(tmp_path / "s3")
    assert scenario.runtime_cutoff == 1.0 and scenario.adaptive_capping and scenario.instances == ["a", "b"]
    rh = RunHistory()
    rh.load(tmp_path / "s3" / "runhistory.json", scenario.configspace)
    ours = load_run(run_dir).state.runhistory.trials.values()
    assert len(rh) == len(ours) and all(v.status in (1, 3) for v in rh.values())  # CAPPED is SMAC3's TIMEOUT


@pytest.mark.skipif(shutil.which("minisat") is None, reason="no minisat (Debian: apt-get install minisat)")
def test_the_minisat_example_runs_as_documented(tmp_path):
    """examples/minisat, in a copy: generate the formulas, configure minisat (YAML scenario and
    AClib scenario.txt), evaluate the default and the incumbent on the test formulas."""
    folder = tmp_path / "minisat"
    shutil.copytree(REPO / "examples" / "minisat", folder, ignore=shutil.ignore_patterns("instances"))
    made = subprocess.run([sys.executable, str(folder / "generate.py"), "--n", "6"], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    assert len((folder / "instances" / "uf-train.txt").read_text().split()) == 6
    proc = run_cli("run", str(folder / "minisat.yaml"), "--quiet", "--set", f"output_directory={tmp_path / 'runs'}",
                   "--set", "n_trials=12", "--set", "runtime_cutoff=2", timeout=300)
    assert proc.returncode == 0, proc.stderr
    run_dir = tmp_path / "runs" / "minisat" / "0"
    trials = load_run(run_dir).state.runhistory.trials.values()
    assert {r.status for r in trials} <= {Status.SUCCESS, Status.CAPPED, Status.TIMEOUT}
    assert all(r.additional_info["aclib_status"] in ("SAT", "UNSAT") for r in trials if r.status == Status.SUCCESS)
    ev = mpirun(3, "-m", "mpismac", "evaluate", str(run_dir), timeout=300)
    assert ev.returncode == 0, ev.stderr
    assert "6 test instance(s), cutoff 2 s (cpu)" in ev.stdout and "incumbent" in ev.stdout
    aclib = run_cli("run", "scenario.txt", "--quiet", "--set", "n_trials=6", "--set",
                    f"output_directory={tmp_path / 'a'}", cwd=folder, timeout=300)
    assert aclib.returncode == 0, aclib.stderr
    assert len(load_run(tmp_path / "a" / "minisat" / "0").state.runhistory.trials) == 6


def test_censored_runs_are_imputed_above_their_bound():
    """Runtimes log(t) = 3x on x in [0, 1], censored above log 0.4 (capped runs): the imputed
    values are above their bounds, below the ceiling, and nearer the truth than the bounds."""
    import numpy as np

    from mpismac.optimizer.instance_model import fit_censored

    x = np.linspace(0, 1, 200)[:, None]
    truth = 3 * x[:, 0] - 2.0
    bound = math.log(0.4)
    censored = truth > bound
    y = np.where(censored, bound, truth)
    _, imputed = fit_censored(x, y, censored, ceiling=2.0, seed=0)
    assert np.all(imputed[censored] >= bound) and np.all(imputed[censored] <= 2.0)
    assert np.all(imputed[~censored] == truth[~censored])
    assert np.abs(imputed[censored] - truth[censored]).mean() < np.abs(bound - truth[censored]).mean()


def test_the_model_compares_configurations_run_on_different_instances():
    """Configuration A ran only on the hard instances, B only on the easy ones: B's mean is
    lower, but A is twice as fast as B on every instance. The model of runs over (configuration,
    instance) ranks A first; the mean cost per configuration would not."""
    import numpy as np

    from mpismac.optimizer.instance_model import InstanceBO
    from mpismac.optimizer.observations import Observations
    from mpismac.runhistory import RunHistory
    from mpismac.runhistory.records import ConfigAdded, TrialEnded, TrialStarted
    from mpismac.runhistory.state import RunState
    from mpismac.trial import TrialInfo

    hardness = {f"i{k}": 2.0 ** k for k in range(8)}
    scenario = Scenario(configspace=ConfigurationSpace({"x": (0.0, 1.0)}), facade="algorithm_configuration",
                        instances=list(hardness), run_objective="runtime", runtime_cutoff=1000.0,
                        deterministic=True, n_trials=100)
    rh = RunHistory(scenario.configspace, scenario.objectives)
    state, observed = RunState(rh), Observations(1)
    speed = {0: 0.5, 1: 1.0}  # A (config 0) is twice as fast
    runs = [(0, i) for i in ("i5", "i6", "i7")] + [(1, i) for i in ("i0", "i1", "i2")]
    runs += [(c, i) for c in (2, 3, 4, 5) for i in hardness]  # others everywhere, slower still
    speed.update({2: 1.5, 3: 2.0, 4: 2.5, 5: 3.0})
    for c, x in enumerate((0.1, 0.9, 0.3, 0.5, 0.6, 0.7)):
        state.apply(ConfigAdded(c, {"x": x}, "sobol"))
    for t, (c, i) in enumerate(runs):
        info = TrialInfo(t, c, rh.configs[c], i, 0)
        cost = speed[c] * hardness[i]
        state.apply(TrialStarted.of(info, 0.0))
        state.apply(TrialEnded(t, TrialValue((cost,), Status.SUCCESS, additional_info={"runtime": cost})))
        observed.add(c, (cost,))
    means = {c: observed.costs()[1][c, 0] for c in range(6)}
    assert means[1] < means[0]  # the per-configuration means mislead
    model = InstanceBO(scenario)
    model.install(model.fit(model.training_set(rh, observed)))
    assert int(np.argmin(model._y)) == 0


def test_the_model_ranks_configurations_from_few_noisy_runs_each():
    """As racing leaves it: most configurations ran once or twice, on instances whose runtimes
    span three orders of magnitude that the given features (a formula's size, the same for all)
    do not tell apart, with noise. The model's marginal means must still rank the configurations
    by their true speed (it did no better than chance with one run per leaf and the features
    alone)."""
    import numpy as np
    from scipy.stats import spearmanr

    from mpismac.optimizer.instance_model import InstanceBO
    from mpismac.optimizer.observations import Observations
    from mpismac.runhistory import RunHistory
    from mpismac.runhistory.records import ConfigAdded, TrialEnded, TrialStarted
    from mpismac.runhistory.state import RunState
    from mpismac.trial import TrialInfo

    rng = np.random.default_rng(0)
    hardness = {f"i{k}": 10 ** rng.uniform(-2, 1) for k in range(40)}
    scenario = Scenario(configspace=ConfigurationSpace({"x": (0.0, 1.0), "y": (0.0, 1.0)}),
                        facade="algorithm_configuration", instances=list(hardness),
                        instance_features={i: [230.0, 980.0] for i in hardness}, run_objective="runtime",
                        runtime_cutoff=1000.0, deterministic=True, n_trials=100)
    rh = RunHistory(scenario.configspace, scenario.objectives)
    state, observed = RunState(rh), Observations(1)
    points = rng.uniform(size=(60, 2))
    speed = np.exp(2.0 * np.hypot(*(points - 0.3).T))  # fastest near (0.3, 0.3)
    t = 0
    for c, (x, y) in enumerate(points):
        state.apply(ConfigAdded(c, {"x": float(x), "y": float(y)}, "sobol"))
        for i in rng.choice(list(hardness), size=int(rng.choice([1, 1, 1, 2, 4])), replace=False):
            cost = float(speed[c] * hardness[i] * rng.lognormal(0.0, 0.5))
            info = TrialInfo(t, c, rh.configs[c], str(i), 0)
            state.apply(TrialStarted.of(info, 0.0))
            state.apply(TrialEnded(t, TrialValue((cost,), Status.SUCCESS, additional_info={"runtime": cost})))
            observed.add(c, (cost,))
            t += 1
    model = InstanceBO(scenario)
    model.install(model.fit(model.training_set(rh, observed)))
    rho = spearmanr(model._y, speed)[0]
    assert rho > 0.7, rho  # 0.91; 0.30 with leaves of one run and the features alone


def _ac_scenario(tmp_path: Path, n_trials: int, name: str = "ac", **extra: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"""
name: {name}
output_directory: {tmp_path / 'out'}
configspace: {{hyperparameters: [{{type: uniform_float, name: t, lower: 0.02, upper: 1.0, default_value: 0.4}}]}}
target: {DATA / 'runtime_targets.py'}:spin
facade: algorithm_configuration
instances: [a, b, c, d]
run_objective: runtime
runtime_cutoff: 1.5
deterministic: true
n_trials: {n_trials}
""" + "".join(f"{k}: {v}\n" for k, v in extra.items()))
    return path


@needs_mpiexec
def test_a_killed_configuration_run_resumes_and_psmac_shares_capped_runs(tmp_path):
    """SIGTERM to a 4-rank job in the middle: the trials cut short run again on resume (with a
    cap recomputed from the race), every trial ends once, capped runs included; then pSMAC on 3
    ranks, where the ranks share capped runs, finishes its budget."""
    from .conftest import start_mpi, terminate_ranks

    path = _ac_scenario(tmp_path, 30)
    journal = tmp_path / "out" / "ac" / "0" / "journal.jsonl"
    proc = start_mpi(4, path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not journal.exists() or journal.read_text().count('"op":"end"') < 8):
        time.sleep(0.05)
    _, err, _ = terminate_ranks(proc, path)
    assert proc.returncode == 3, err
    first = load_run(tmp_path / "out" / "ac" / "0").state.runhistory.trials
    assert 8 <= len(first) < 30
    again = mpirun(3, "-m", "mpismac", "run", str(path), "--quiet", timeout=300)
    assert again.returncode == 0, again.stderr
    trials = load_run(tmp_path / "out" / "ac" / "0").state.runhistory.trials
    assert sorted(trials) == list(range(30)) and all(r.status != Status.RUNNING for r in trials.values())
    assert all("cutoff" in r.additional_info for r in trials.values())

    path = _ac_scenario(tmp_path / "p", 36, mode="psmac", name="ps")
    proc = mpirun(3, "-m", "mpismac", "run", str(path), "--quiet", timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(run_cli("report", str(tmp_path / "p" / "out" / "ps" / "0"), "--json").stdout)
    assert summary["trials"] >= 36 and summary["incumbent"] is not None
    assert summary["status"].get("CAPPED", 0) + summary["status"].get("TIMEOUT", 0) >= 1
