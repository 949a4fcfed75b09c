"""Test functions of the quality benchmark: name -> (configuration space, function, optimum)."""

from __future__ import annotations

import math

import numpy as np
from ConfigSpace import Categorical, ConfigurationSpace, EqualsCondition, Float, Integer

_A6 = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
                [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
_P6 = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                       [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])
_ALPHA6 = np.array([1.0, 1.2, 3.0, 3.2])


def branin(config, seed: int = 0) -> float:
    x, y = config["x"], config["y"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (y - b * x**2 + c * x - 6) ** 2 + 10 * (1 - t) * math.cos(x) + 10


def hartmann6(config, seed: int = 0) -> float:
    x = np.array([config[f"x{i}"] for i in range(6)])
    return -float(np.sum(_ALPHA6 * np.exp(-np.sum(_A6 * (x - _P6) ** 2, axis=1))))


def ackley5(config, seed: int = 0) -> float:
    x = np.array([config[f"x{i}"] for i in range(5)])
    return float(-20 * np.exp(-0.2 * np.sqrt(np.mean(x**2))) - np.exp(np.mean(np.cos(2 * np.pi * x))) + 20 + np.e)


def rosenbrock5(config, seed: int = 0) -> float:
    x = np.array([config[f"x{i}"] for i in range(5)])
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def mixed(config, seed: int = 0) -> float:
    """A mixed, conditional space: the branch picks which function the continuous part sees;
    the best value (0) lies in branch 'b' with its integer at 3."""
    x = np.array([config["x0"], config["x1"]])
    if config["branch"] == "a":
        return 1.0 + float(np.sum((x - 0.3) ** 2)) + 0.1 * config["depth"]
    return float(np.sum((x + 0.5) ** 2)) + abs(config["k"] - 3) * 0.5 + (0.0 if config["flag"] == "on" else 0.7)


def _mixed_space() -> ConfigurationSpace:
    cs = ConfigurationSpace()
    branch = Categorical("branch", ["a", "b"])
    depth = Integer("depth", (1, 10))
    k = Integer("k", (0, 10))
    flag = Categorical("flag", ["on", "off"])
    cs.add([branch, Float("x0", (-2.0, 2.0)), Float("x1", (-2.0, 2.0)), depth, k, flag])
    cs.add([EqualsCondition(depth, branch, "a"), EqualsCondition(k, branch, "b"), EqualsCondition(flag, branch, "b")])
    return cs


PROBLEMS = {
    "branin": (lambda: ConfigurationSpace({"x": (-5.0, 10.0), "y": (0.0, 15.0)}), branin, 0.397887),
    "hartmann6": (lambda: ConfigurationSpace({f"x{i}": (0.0, 1.0) for i in range(6)}), hartmann6, -3.32237),
    "ackley5": (lambda: ConfigurationSpace({f"x{i}": (-32.768, 32.768) for i in range(5)}), ackley5, 0.0),
    "rosenbrock5": (lambda: ConfigurationSpace({f"x{i}": (-5.0, 10.0) for i in range(5)}), rosenbrock5, 0.0),
    "mixed": (_mixed_space, mixed, 0.0),
}


def optuna_distributions(cs: ConfigurationSpace) -> dict:
    """The same space as Optuna's distributions (floats, integers, categoricals)."""
    from ConfigSpace import CategoricalHyperparameter, UniformFloatHyperparameter, UniformIntegerHyperparameter
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict = {}
    for hp in cs.values():
        if isinstance(hp, UniformFloatHyperparameter):
            out[hp.name] = FloatDistribution(hp.lower, hp.upper, log=hp.log)
        elif isinstance(hp, UniformIntegerHyperparameter):
            out[hp.name] = IntDistribution(hp.lower, hp.upper, log=hp.log)
        elif isinstance(hp, CategoricalHyperparameter):
            out[hp.name] = CategoricalDistribution(list(hp.choices))
        else:
            raise TypeError(f"no Optuna distribution for {hp!r}")
    return out
