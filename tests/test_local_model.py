"""Local steps of the `hpo` facade: the quadratic model around the best point finds the bottom
of a smooth optimum that the forest alone only gets near, on any space."""

from __future__ import annotations

import numpy as np
import pytest
from ConfigSpace import Categorical, Configuration, ConfigurationSpace, EqualsCondition, Float, Integer

from mpismac import Optimizer, Scenario
from mpismac.optimizer.local_model import local_step
from mpismac.optimizer.vectors import VectorSpace

pytestmark = pytest.mark.fast

OPTIMUM = np.array([0.23, 0.61, 0.47, 0.35])
CURVATURE = np.array([40.0, 10.0, 25.0, 90.0])


def _bowl(x: np.ndarray) -> np.ndarray:
    """A smooth, non-quadratic valley (what a cost looks like near a good optimum)."""
    return 1.0 - np.exp(-0.5 * (((x - OPTIMUM) ** 2) * CURVATURE).sum(axis=-1))


def test_a_step_lands_far_closer_to_a_smooth_optimum_than_the_best_point():
    space = VectorSpace(ConfigurationSpace({f"x{i}": (0.0, 1.0) for i in range(4)}))
    rng = np.random.default_rng(0)
    rows = np.clip(OPTIMUM + rng.normal(0, 0.05, (40, 4)), 0, 1)
    costs = _bowl(rows)
    step = local_step(space, rows, costs)
    best = rows[np.argmin(costs)]
    assert np.linalg.norm(step - OPTIMUM) < 0.3 * np.linalg.norm(best - OPTIMUM)
    assert _bowl(step) < 0.1 * costs.min()


def test_too_few_points_or_a_repeated_point_give_no_step():
    space = VectorSpace(ConfigurationSpace({f"x{i}": (0.0, 1.0) for i in range(4)}))
    rows = np.random.default_rng(1).random((10, 4))  # a model needs ceil(1.2 * 9) = 11
    assert local_step(space, rows, _bowl(rows)) is None
    line = ConfigurationSpace({"x": (0.0, 1.0)})
    rows = np.array([[0.2], [0.4], [0.6], [0.5]])  # minimum of (x - 0.5)² is a point already run
    assert local_step(VectorSpace(line), rows, (rows[:, 0] - 0.5) ** 2) is None


def test_a_step_next_to_a_running_one_is_not_proposed_again():
    """With several workers the best point's step is often running already: a step next to it
    would say the same, so it is taken around the next best points, or not at all (the
    acquisition proposes instead) when theirs land there too, as in this single valley."""
    space = VectorSpace(ConfigurationSpace({f"x{i}": (0.0, 1.0) for i in range(4)}))
    rng = np.random.default_rng(0)
    rows = np.clip(OPTIMUM + rng.normal(0, 0.05, (40, 4)), 0, 1)
    costs = _bowl(rows)
    first = local_step(space, rows, costs)
    nudged = np.clip(first + 1e-3, 0, 1)  # a running step, not exactly where this one lands
    second = local_step(space, rows, costs, avoid=nudged[None])
    assert second is None or np.linalg.norm(second - first) > 1e-2
    far = np.clip(first + 0.3, 0, 1)
    assert np.array_equal(local_step(space, rows, costs, avoid=far[None]), first)


def test_hpo_pins_down_a_smooth_optimum_with_local_steps():
    """The forest alone ends around 1e-2 here (its mean never points past the best cost seen);
    local steps take the run to 1e-5, and they are what improved the incumbent last."""
    cs = ConfigurationSpace({f"x{i}": (0.0, 1.0) for i in range(4)})
    opt = Optimizer(Scenario(configspace=cs, n_trials=70, seed=2, deterministic=True))
    improved_by = []
    for _ in range(70):
        info = opt.ask()
        cost = float(_bowl(np.array([info.config[f"x{i}"] for i in range(4)])))
        if opt.incumbent is None or cost < opt.incumbent.cost[0]:
            improved_by.append(info.origin)
        opt.tell(info, cost)
    assert opt.incumbent.cost[0] < 1e-5, opt.incumbent.cost
    assert improved_by[-3:] == ["local"] * 3, improved_by


def test_local_steps_on_a_mixed_conditional_space_move_active_numbers_only():
    cs = ConfigurationSpace()
    branch = Categorical("branch", ["a", "b"])
    k = Integer("k", (0, 20))
    x = Float("x", (-2.0, 2.0))
    y = Float("y", (-2.0, 2.0))
    cs.add([branch, k, x, y, EqualsCondition(k, branch, "b"), EqualsCondition(y, branch, "b")])

    def cost(c: dict) -> float:
        if c["branch"] == "a":
            return 5.0 + (c["x"] - 1) ** 2
        return (c["x"] - 0.3) ** 2 + (c["y"] + 0.7) ** 2 + 0.1 * abs(c["k"] - 7)

    opt = Optimizer(Scenario(configspace=cs, n_trials=60, seed=1, deterministic=True))
    locals_ = []
    for _ in range(60):
        info = opt.ask()
        Configuration(cs, values=info.config).check_valid_configuration()
        if info.origin == "local":
            locals_.append(info.config)
        opt.tell(info, cost(info.config))
    assert len(locals_) >= 5  # once converged (cost ~1e-12) a local step would repeat a configuration
    assert all(isinstance(c.get("k", 0), int) for c in locals_)
    assert opt.incumbent.cost[0] < 1e-3, opt.incumbent
