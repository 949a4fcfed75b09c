"""Racing over seeds and instances: the true best wins against noise, bad challengers are
dropped early, and the outcome does not depend on the order in which trials finish."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from ConfigSpace import ConfigurationSpace, Float

from mpismac import Optimizer, Scenario
from mpismac.trial import Status, TrialValue

pytestmark = pytest.mark.fast


def _noise(seed: int, instance: str | None) -> float:
    """Deterministic per (seed, instance), like a real noisy target run with that seed."""
    return float(np.random.default_rng(zlib.crc32(f"{seed}/{instance}".encode())).normal(0.0, 0.5))


def _true(config) -> float:
    return (config["x"] - 0.2) ** 2


def test_the_true_best_wins_against_noise():
    cs = ConfigurationSpace({"x": (-1.0, 1.0)})
    opt = Optimizer(Scenario(configspace=cs, facade="random", n_trials=120, seed=3))
    evaluated = []
    for _ in range(120):
        info = opt.ask()
        opt.tell(info, _true(info.config) + _noise(info.seed, None))
        evaluated.append(info.config_id)
    inc = opt.incumbent
    inc_trials = [r for r in opt.runhistory.trials.values() if r.config_id == inc.config_id]
    assert len({r.seed for r in inc_trials}) == 3  # raced on every seed
    truths = sorted(_true(opt.runhistory.configs[c]) for c in set(evaluated))
    assert _true(inc.config) <= truths[len(truths) // 10]  # among the truly best tenth
    assert inc.cost[0] == np.mean([r.cost[0] for r in inc_trials])  # judged on all its seeds, not its luckiest


def test_instances_race_and_bad_challengers_stop_early():
    cs = ConfigurationSpace({"x": (-1.0, 1.0)})
    instances = [f"i{k}" for k in range(4)]
    offset = {i: k for k, i in enumerate(instances)}
    opt = Optimizer(Scenario(configspace=cs, facade="random", n_trials=80, seed=1, deterministic=True,
                             instances=instances))
    for _ in range(80):
        info = opt.ask()
        opt.tell(info, _true(info.config) + offset[info.instance])
    rh = opt.runhistory
    per_config: dict[int, set[str]] = {}
    for r in rh.trials.values():
        per_config.setdefault(r.config_id, set()).add(r.instance)
    assert per_config[opt.incumbent.config_id] == set(instances)  # the incumbent ran on every instance
    one_instance = sum(len(s) == 1 for c, s in per_config.items() if c != opt.incumbent.config_id)
    assert one_instance >= 0.6 * (len(per_config) - 1)  # most losers were dropped after one instance
    best_true = min(_true(rh.configs[c]) for c, s in per_config.items() if s == set(instances))
    assert _true(opt.incumbent.config) == best_true


def _run_out_of_order(order_seed: int) -> Optimizer:
    cs = ConfigurationSpace({"x": (-1.0, 1.0)})
    opt = Optimizer(Scenario(configspace=cs, facade="random", n_trials=60, seed=5))
    rng = np.random.default_rng(order_seed)
    waiting = []
    while len(opt.runhistory.trials) + len(waiting) < 60 or waiting:
        while len(waiting) < 4 and len(opt.runhistory.trials) + len(waiting) < 60:
            waiting.append(opt.ask())
        info = waiting.pop(int(rng.integers(len(waiting))))  # trials finish in a random order
        opt.tell(info, TrialValue((_true(info.config) + _noise(info.seed, None),), Status.SUCCESS))
    return opt


def test_incumbent_is_kept_correct_when_trials_finish_out_of_order():
    """No configuration that finished every (instance, seed) pair the incumbent finished has a
    lower mean on those pairs, whatever order the trials finished in."""
    for order in range(4):
        opt = _run_out_of_order(order)
        costs: dict[int, dict[tuple, float]] = {}
        for r in opt.runhistory.trials.values():
            costs.setdefault(r.config_id, {})[(r.instance, r.seed)] = r.cost[0]
        inc = opt.incumbent
        pairs = set(costs[inc.config_id])
        assert len(pairs) >= 2 and inc.cost[0] == np.mean([costs[inc.config_id][p] for p in pairs])
        rivals = [c for c, got in costs.items() if c != inc.config_id and pairs <= set(got)]
        for c in rivals:
            assert np.mean([costs[c][p] for p in pairs]) >= inc.cost[0], (order, c)


def test_a_crashed_configuration_never_becomes_the_incumbent():
    cs = ConfigurationSpace({"x": (-1.0, 1.0)})
    opt = Optimizer(Scenario(configspace=cs, facade="random", n_trials=10, deterministic=True))
    first = opt.ask()
    opt.tell(first, TrialValue((float("inf"),), Status.CRASHED))
    assert opt.incumbent is None
    second = opt.ask()
    opt.tell(second, 0.5)
    assert opt.incumbent.config_id == second.config_id and opt.incumbent.cost == (0.5,)


def test_the_state_written_per_trial_stays_small():
    cs = ConfigurationSpace({"x": (-1.0, 1.0)})
    opt = Optimizer(Scenario(configspace=cs, facade="random", n_trials=300, seed=2))
    for _ in range(300):
        info = opt.ask()
        opt.tell(info, _true(info.config) + _noise(info.seed, None))
    import json

    assert len(json.dumps(opt.state())) < 300 and len(json.dumps(opt.counters())) < 80


def test_the_next_trial_comes_from_the_oldest_race_that_wants_one():
    """Thousands of races at once (one per worker): `next_trial` takes the races in the order
    they began, as a walk over all of them would, without walking them."""
    cs = ConfigurationSpace({"x": (-1.0, 1.0)})
    opt = Optimizer(Scenario(configspace=cs, facade="random", n_trials=400, seed=3, deterministic=False))
    rng = np.random.default_rng(0)
    pending, deepest = [], 0
    for _ in range(300):
        intensifier = opt._intensifier
        deepest = max(deepest, *intensifier.races.values(), 0)
        wanted = [(c, range(intensifier.n_inc)) for c in intensifier.incumbents] + \
            [(c, intensifier._stage_pairs(c, stage)) for c, stage in intensifier.races.items()]
        expected = next(((c, k) for c, pairs in wanted for k in pairs if (c, k) not in intensifier.started), None)
        assert intensifier.next_trial() == expected
        pending.append(opt.ask())
        if len(pending) > 40 or rng.random() < 0.4:  # results out of order, many races open
            info = pending.pop(int(rng.integers(len(pending))))
            opt.tell(info, _true(info.config) + _noise(info.seed, None))
    assert deepest > 1  # races went past their first pair


def test_a_challenger_better_on_average_beats_an_incumbent_lucky_on_the_first_instance():
    """Each challenger races on the incumbent's pairs in an order of its own: with one order for
    all, a challenger slower than the incumbent on the first pair alone was dropped there, however
    much better it is on the others. The incumbent (`x` < 0.1) is fastest on the first pair only;
    the challengers (`x` >= 0.1) cost 0.5 on every pair, and one of them must win."""
    instances = [f"i{k}" for k in range(12)]
    cs = ConfigurationSpace()
    cs.add(Float("x", (0.0, 1.0), default=0.0))
    opt = Optimizer(Scenario(configspace=cs, facade="random", n_trials=150, seed=4, deterministic=True,
                             instances=instances, use_default_config=True))
    lucky = opt._intensifier.pairs[0][0]
    first_pairs = set()
    for _ in range(150):
        info = opt.ask()
        if info.config["x"] < 0.1:
            cost = 0.0 if info.instance == lucky else 1.0
        else:
            cost = 0.5
            trials = opt.runhistory.trials.values()
            if not any(r.config_id == info.config_id and r.trial_id != info.trial_id for r in trials):
                first_pairs.add(info.instance)
        opt.tell(info, cost)
    assert opt.runhistory.configs[opt.runhistory.trials[0].config_id]["x"] == 0.0  # the lucky one went first
    assert len(first_pairs) > len(instances) // 2  # challengers began on many of the incumbent's pairs
    assert opt.incumbent is not None and opt.incumbent.config["x"] >= 0.1 and opt.incumbent.cost == (0.5,)
