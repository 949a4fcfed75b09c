"""The optimizer interface: ask with pending trials, tell out of order, proposals from
(seed, index) streams, state that carries a run on, conditional spaces, the Python API."""

from __future__ import annotations

import warnings

import pytest
from ConfigSpace import Categorical, Configuration, ConfigurationSpace, EqualsCondition, Float, Integer

from mpismac import Optimizer, Scenario, optimize
from mpismac.runhistory.folder import load_run
from mpismac.target import TargetSpec
from mpismac.trial import Status, TrialValue

from .conftest import DATA


def _scenario(space, **kw):
    return Scenario(configspace=space, facade="random", **{"n_trials": 40, **kw})


def test_ask_with_pending_and_tell_out_of_order(space):
    opt = Optimizer(_scenario(space, deterministic=True))
    asked = [opt.ask() for _ in range(6)]
    assert len({i.trial_id for i in asked}) == 6 and len({i.config_id for i in asked}) == 6
    assert len(opt.pending) == 6
    for info in reversed(asked):
        opt.tell(info, info.config["x"] ** 2)
    best = min(asked, key=lambda i: i.config["x"] ** 2)
    assert opt.incumbent.config_id == best.config_id and opt.pending == []
    crashed = opt.ask()
    opt.tell(crashed, TrialValue((float("inf"),), Status.CRASHED))  # a crash never becomes incumbent
    assert opt.incumbent.config_id == best.config_id


def test_initial_design_size_and_max_config_calls_are_kept(space):
    """SMAC3's get_initial_design(n_configs=...) and get_intensifier(max_config_calls=...)."""
    opt = Optimizer(Scenario(configspace=space, n_trials=40, initial_design_size=3, max_config_calls=2))
    origins = {}  # configuration: its origin, in the order configurations came
    for _ in range(12):
        info = opt.ask()
        origins.setdefault(info.config_id, info.origin)
        opt.tell(info, info.config["x"] ** 2)
    origins_in_order = list(origins.values())
    assert origins_in_order[:3] == ["sobol"] * 3 and "sobol" not in origins_in_order[3:], origins
    per_config = {}
    for r in opt.runhistory.trials.values():
        per_config[r.config_id] = per_config.get(r.config_id, 0) + 1
    assert max(per_config.values()) == 2, per_config  # noisy: 3 seeds, but no more than 2 calls


def test_tell_takes_each_asked_trial_once_with_one_cost_per_objective(space):
    """What the plain ask/tell API refuses or corrects (each silently broke a run before)."""
    from mpismac import TrialInfo

    opt = Optimizer(_scenario(space, deterministic=True))
    info = opt.ask()
    opt.tell(info, 1.0)
    with pytest.raises(ValueError, match="trial 0 was told already"):
        opt.tell(info, 5.0)
    assert opt.runhistory.trials[0].cost == (1.0,)
    with pytest.raises(ValueError, match="trial 99 was not asked"):
        opt.tell(TrialInfo(99, 0, info.config), 1.0)
    with pytest.raises(ValueError, match="expected 1 cost"):
        opt.tell(opt.ask(), [1.0, 2.0])
    with pytest.raises(TypeError, match="TrialInfo that ask returned"):
        opt.tell(0, 1.0)
    for bad in ("abc", None):
        with pytest.raises(TypeError, match="cost"):
            opt.tell(opt.ask(), bad)
    nan = opt.ask()
    opt.tell(nan, float("nan"))  # a NaN cost is a crash, with the crash cost
    assert opt.runhistory.trials[nan.trial_id].status == Status.CRASHED
    plain = opt.ask()
    opt.tell(plain, TrialValue(cost=2.0))  # a single cost needs no tuple
    assert opt.runhistory.trials[plain.trial_id].cost == (2.0,)
    for _ in range(12):  # the race goes on over all of it
        opt.tell(opt.ask(), 3.0)
    assert opt.incumbent.cost == (1.0,)
    with pytest.raises(TypeError, match="needs a Scenario"):
        Optimizer("scenario.yaml")


def test_same_seed_same_proposals_other_seed_others(space):
    a, b, c = Optimizer(_scenario(space)), Optimizer(_scenario(space)), Optimizer(_scenario(space, seed=1))
    seq = [a.ask().config for _ in range(30)]
    assert seq == [b.ask().config for _ in range(30)]
    assert seq != [c.ask().config for _ in range(30)]


def test_state_carries_the_proposal_sequence_on(space):
    scenario = _scenario(space)
    whole = Optimizer(scenario)
    expected = []
    for i in range(20):
        info = whole.ask()
        expected.append(info.config)
        if i < 12:
            whole.tell(info, 1.0)
    first = Optimizer(scenario)
    got = []
    for _ in range(12):
        info = first.ask()
        first.tell(info, 1.0)
        got.append(info.config)
    second = Optimizer(scenario, first.runhistory, first.state())  # a restart from the saved state
    got += [second.ask().config for _ in range(8)]
    assert got == expected


def test_initial_design_is_sobol_and_spread(space):
    opt = Optimizer(_scenario(space, n_trials=100, use_default_config=True))
    infos = [opt.ask() for _ in range(10)]  # 2 per hyperparameter + 2 = 6 initial configurations
    assert infos[0].config == {"x": 2.5, "y": 7.5} and infos[0].origin == "default"
    assert [i.origin for i in infos[1:6]] == ["sobol"] * 5 and {i.origin for i in infos[6:]} == {"random"}
    quadrants = {(i.config["x"] > 2.5, i.config["y"] > 7.5) for i in infos[1:5]}
    assert len(quadrants) == 4  # the first four Sobol points fall in four different quadrants


def test_conditional_space_proposals_are_valid():
    cs = ConfigurationSpace(seed=0)
    cs.add([Categorical("model", ["svm", "forest"]), Float("C", (1e-3, 1e3), log=True),
            Integer("trees", (10, 500), log=True), Categorical("kernel", ["rbf", "poly"])])
    cs.add([EqualsCondition(cs["C"], cs["model"], "svm"), EqualsCondition(cs["kernel"], cs["model"], "svm"),
            EqualsCondition(cs["trees"], cs["model"], "forest")])
    opt = Optimizer(Scenario(configspace=cs, facade="random", n_trials=60))
    models = set()
    for _ in range(60):
        config = opt.ask().config
        Configuration(cs, values=config)  # raises on an invalid combination
        models.add(config["model"])
        assert ("trees" in config) == (config["model"] == "forest") and ("C" in config) == (config["model"] == "svm")
    assert models == {"svm", "forest"}


def test_deterministic_scenarios_use_one_seed(space):
    det = Optimizer(_scenario(space, deterministic=True))
    assert len({det.ask().seed for _ in range(5)}) == 1
    noisy = Optimizer(_scenario(space))
    seeds = set()
    for _ in range(30):
        info = noisy.ask()
        noisy.tell(info, info.config["x"])
        seeds.add(info.seed)
    assert len(seeds) == 3  # the incumbent is raced on three seeds


def test_serial_runs_are_reproducible(tmp_path, space):
    target = TargetSpec("function", function="quadratic", path=str(DATA / "targets.py"))
    results = []
    for name in ("a", "b"):
        scenario = _scenario(space, n_trials=15, name=name, output_directory=str(tmp_path))
        result = optimize(target, scenario, show_progress=False)
        rh = load_run(result.path).state.runhistory
        results.append(([rh.configs[r.config_id] for r in rh.trials.values()], [r.cost for r in rh.trials.values()]))
        assert result.exit_code == 0 and result.n_finished == 15
    assert results[0] == results[1]


def test_api_importable_function_and_inprocess_fallback(tmp_path, space):
    import tests.data.targets as targets

    result = optimize(targets.quadratic, _scenario(space, n_trials=5, output_directory=str(tmp_path)),
                      show_progress=False)
    assert result.n_finished == 5 and result.incumbent is not None
    with pytest.warns(UserWarning, match="lambda"):
        result = optimize(lambda config: config["x"], _scenario(space, n_trials=5, name="lam", deterministic=True,
                                                                output_directory=str(tmp_path)), show_progress=False)
    assert result.cost == min(c["x"] for c in load_run(result.path).state.runhistory.configs)
    warnings.simplefilter("default")


def test_result_cost_is_a_float_for_one_objective_and_a_tuple_for_several(tmp_path, space):
    """As SMAC3's facades return it."""
    one = optimize(TargetSpec("function", function="quadratic", path=str(DATA / "targets.py")),
                   _scenario(space, n_trials=4, output_directory=str(tmp_path)), show_progress=False)
    assert isinstance(one.cost, float) and one.costs == (one.cost,)
    two = optimize(lambda config: {"a": config["x"], "b": -config["x"]},
                   _scenario(space, n_trials=4, name="two", objectives=["a", "b"], output_directory=str(tmp_path)),
                   show_progress=False)
    assert isinstance(two.cost, tuple) and len(two.cost) == 2 and two.cost == two.costs


def test_a_target_given_to_optimize_as_a_string(tmp_path, space, monkeypatch):
    """Read as the scenario's `target` key reads it (paths relative to the current directory);
    one that names no target is refused before anything is created."""
    from mpismac.errors import ScenarioError

    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.py").write_text("def ok(config):\n    return config['x'] ** 2\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # runs in a trial process: no in-process warning
        result = optimize("t.py:ok", _scenario(space, n_trials=3, output_directory="out"), show_progress=False)
    assert result.exit_code == 0 and result.n_finished == 3 and result.cost == min(
        c["x"] ** 2 for c in load_run(result.path).state.runhistory.configs)
    with pytest.raises(ScenarioError, match=r"optimize\(\): key 'target': file not found: .*nope.py"):
        optimize("nope.py:ok", _scenario(space, n_trials=3, output_directory="out2"), show_progress=False)
    assert not (tmp_path / "out2").exists()


def test_optimize_arguments_of_the_wrong_kind(tmp_path, space):
    """A TypeError at the call, saying what was expected, before anything is created."""
    import tests.data.targets as targets

    scenario = _scenario(space, n_trials=3, output_directory=str(tmp_path / "out"))
    cases = [((targets.quadratic, "c.yaml"), "scenario must be a mpismac.Scenario (read a file with "
                                              "Scenario.from_yaml('c.yaml')), got str 'c.yaml'"),
             ((targets.quadratic, {"configspace": space}), "scenario must be a mpismac.Scenario (build one with"),
             ((42, scenario), "target must be a function, a string .* got int 42"),
             ((targets.quadratic, scenario, 4), "comm must be an mpi4py intra-communicator .* got int 4")]
    for args, why in cases:
        with pytest.raises(TypeError, match=why.replace("(", r"\(").replace(")", r"\)")):
            optimize(*args, show_progress=False)
    assert not (tmp_path / "out").exists()


def _branin(c):
    import math

    x, y = c["x"], c["y"]
    b, c_, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (y - b * x**2 + c_ * x - 6) ** 2 + 10 * (1 - t) * math.cos(x) + 10


def _min_distance(rows) -> float:
    import numpy as np

    rows = np.asarray(rows)
    d = np.sqrt(((rows[:, None, :] - rows[None, :, :]) ** 2).sum(axis=2))
    return float(d[np.triu_indices(len(rows), 1)].min())


def test_proposals_prepared_off_the_asking_thread_spread_jointly(space):
    """What the MPI manager does: proposals made in a helper thread while trials are pending,
    each aware of the pending trials and of the proposals prepared before it."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    opt = Optimizer(Scenario(configspace=space, facade="hpo", deterministic=True, n_trials=60), auto_update=False)
    for _ in range(20):
        info = opt.ask()
        opt.tell(info, _branin(info.config))
        opt.update_model()
    pending = [opt.ask() for _ in range(3)]
    with ThreadPoolExecutor(1) as helper:
        for _ in range(5):  # each started after the last one was kept, as the manager does
            job = opt.propose_job()
            job.install(helper.submit(job.compute).result())
    assert opt.n_prepared == 5
    prepared = [opt.ask() for _ in range(5)]
    assert opt.n_prepared == 0 and {i.origin for i in prepared} <= {"acquisition", "local"}
    rows = [Configuration(space, values=i.config).get_array() for i in pending + prepared]
    jointly = _min_distance(rows)
    # the same proposals made blind to one another all go for the same spot of the model
    index = opt.state()["n_proposals"]
    blind = [opt._proposer.propose(index + k, np.empty((0, 2)))[0][0] for k in range(5)]
    alone = _min_distance([Configuration(space, values=v).get_array() for v in blind])
    assert jointly > 0.01 and jointly > 10 * alone, (jointly, alone)
    # made in one job, from one acquisition search (what the manager does to refill its queue)
    opt.propose_job(count=5).run()
    assert opt.n_prepared == 5
    batch = [opt.ask() for _ in range(5)]
    assert len({i.config_id for i in batch}) == 5 and {i.origin for i in batch} <= {"acquisition", "local"}
    rows = [Configuration(space, values=i.config).get_array() for i in pending + prepared + batch]
    assert _min_distance(rows) > 0.01 and _min_distance(rows) > 10 * alone, (_min_distance(rows), alone)


def test_a_proposal_from_the_latest_model_replaces_an_older_one(space):
    """Prepared proposals made before the last refit give way to fresh ones when the queue is
    full, and `ask` hands out a fresh one first: a worker gets a proposal that knows the latest
    results. A queue that workers drain keeps its stale proposals and grows again."""
    opt = Optimizer(Scenario(configspace=space, facade="hpo", deterministic=True, n_trials=60), auto_update=False)
    for _ in range(20):
        info = opt.ask()
        opt.tell(info, _branin(info.config))
        opt.update_model()
    running = opt.ask()
    for _ in range(3):
        opt.propose_job(keep_at_most=3).run()
    assert (opt.n_prepared, opt.n_fresh) == (3, 3)
    opt.tell(running, _branin(running.config))
    assert opt.update_model()
    assert (opt.n_prepared, opt.n_fresh) == (3, 0)
    opt.propose_job(keep_at_most=3).run()
    fresh = opt._prepared[-1].values
    assert (opt.n_prepared, opt.n_fresh) == (3, 1)
    assert opt.ask().config == fresh
    assert (opt.n_prepared, opt.n_fresh) == (2, 0)
    opt.propose_job(keep_at_most=3).run()  # room in the queue: nothing dropped
    assert (opt.n_prepared, opt.n_fresh) == (3, 1)


def test_with_no_proposal_ready_a_manager_gets_a_random_configuration_not_a_model_proposal(space):
    """`ask(model_now=False)`, as the MPI manager asks while its helper refits: the model is not
    run on the asking thread; the configuration is a uniform random one (origin "fallback")."""
    opt = Optimizer(Scenario(configspace=space, facade="hpo", deterministic=True, n_trials=60), auto_update=False)
    for _ in range(12):
        info = opt.ask()
        opt.tell(info, _branin(info.config))
    assert opt.ask(model_now=False).origin != "fallback"  # no model yet: the initial design goes on
    opt.update_model()
    quick = [opt.ask(model_now=False) for _ in range(3)]
    assert [i.origin for i in quick] == ["fallback"] * 3 and opt.n_fallbacks == 3
    assert len({i.config_id for i in quick}) == 3
    assert opt.ask().origin in ("acquisition", "local")  # the default still proposes from the model
    opt.propose_job(count=2).run()
    assert opt.ask(model_now=False).origin in ("acquisition", "local")  # a prepared proposal first


def test_a_model_learns_from_a_bounded_set_that_keeps_the_best(space, monkeypatch):
    """Past MAX_TRAINING configurations a refit takes the best half and a sample of the rest;
    the costs per configuration are kept as results are told (crashes: the worst finite cost)."""
    import numpy as np

    from mpismac.optimizer import model_bo

    monkeypatch.setattr(model_bo, "MAX_TRAINING", 20)
    opt = Optimizer(Scenario(configspace=space, facade="hpo", deterministic=True, n_trials=100), auto_update=False)
    costs = {}
    for k in range(60):
        info = opt.ask()
        if k == 7:
            opt.tell(info, TrialValue((float("inf"),), Status.CRASHED, 0.0, 1.0))
            costs[info.config_id] = None
            continue
        costs[info.config_id] = _branin(info.config)
        opt.tell(info, costs[info.config_id])
    ids, observed = opt._observed.costs()
    finite = [c for c in costs.values() if c is not None]
    assert ids == list(costs) and observed[ids.index(next(c for c, v in costs.items() if v is None)), 0] == max(finite)
    data = opt._proposer.training_set(opt.runhistory, opt._observed)
    assert len(data.rows) == 20 and len(data.observed) == 60
    best = sorted(finite)[:10]
    assert np.allclose(np.sort(data.costs)[:10], best)  # the best half is always in
    assert opt.update_model() and opt.ask().origin in ("acquisition", "local")
