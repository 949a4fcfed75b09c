"""The problems of benchmarks/real_workloads.py: name -> RealProblem (a space, a cost, deterministic or not).

Every cost is a validation error in [0, 1]:
- lcbench-TASK: the LCBench surrogate of benchmarks/multi_fidelity.py at full fidelity (epoch 52),
  (100 - validation accuracy) / 100, on the ten development tasks of the shared data's README.
- svm-wine, svm-bc, hgb-digits, mlp-digits, pipe-bc: scikit-learn models on its bundled datasets
  (no download), 1 - mean accuracy of a 3-fold stratified cross-validation with a fixed split
  (random_state 0, the model's too).
- the same five with -noisy: the split and the model's random_state follow the trial's seed.
Other dataset x model pairs are kept for independent validation: do not tune on them.
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ConfigSpace import Categorical, ConfigurationSpace, EqualsCondition, Float, InCondition, Integer
from ConfigSpace.hyperparameters import Hyperparameter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from multi_fidelity import LCBENCH_TASKS, LCBench  # noqa: E402

Cost = Callable[[dict[str, Any], int], float]


@dataclass(frozen=True)
class RealProblem:
    """A configuration space, cost(config values, trial seed), and whether the cost ignores the seed."""

    space: Callable[[], ConfigurationSpace]
    cost: Cost
    deterministic: bool


# -- LCBench ----------------------------------------------------------------------------------------


def _lcbench(task: str) -> RealProblem:
    surrogate = LCBench(task)

    def cost(config: dict[str, Any], seed: int) -> float:
        return surrogate.evaluate(config, surrogate.max_budget)[0] / 100.0

    return RealProblem(lambda: surrogate.space(0), cost, deterministic=True)


# -- scikit-learn -----------------------------------------------------------------------------------


@functools.cache
def _data(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A bundled dataset (features, labels); digits scaled to [0, 1] for the MLP."""
    from sklearn import datasets

    loader = {"wine": datasets.load_wine, "bc": datasets.load_breast_cancer, "digits": datasets.load_digits}[name]
    x, y = loader(return_X_y=True)
    return (x / 16.0 if name == "digits" else x), y


def cv_error(model: Any, data: str, seed: int) -> float:
    """1 - mean accuracy over a 3-fold stratified cross-validation whose split is drawn from `seed`."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    x, y = _data(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(
            model, x, y, cv=StratifiedKFold(3, shuffle=True, random_state=seed), error_score="raise"
        )
    return 1.0 - float(np.mean(scores))


def _svm_space() -> ConfigurationSpace:
    """SVC's kernel and its parameters: gamma (not linear), degree (poly), coef0 (poly, sigmoid)."""
    cs = ConfigurationSpace()
    kernel = Categorical("kernel", ["linear", "rbf", "poly", "sigmoid"], default="rbf")
    gamma = Float("gamma", (1e-4, 1.0), log=True, default=0.01)
    degree = Integer("degree", (2, 5), default=3)
    coef0 = Float("coef0", (-1.0, 1.0), default=0.0)
    cs.add([kernel, Float("C", (1e-2, 1e3), log=True, default=1.0), gamma, degree, coef0])
    cs.add(
        [
            InCondition(gamma, kernel, ["rbf", "poly", "sigmoid"]),
            EqualsCondition(degree, kernel, "poly"),
            InCondition(coef0, kernel, ["poly", "sigmoid"]),
        ]
    )
    return cs


def _svm(config: dict[str, Any], seed: int) -> Any:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    return make_pipeline(
        StandardScaler(),
        SVC(
            kernel=config["kernel"],
            C=config["C"],
            gamma=config.get("gamma", "scale"),
            degree=config.get("degree", 3),
            coef0=config.get("coef0", 0.0),
            max_iter=100_000,
        ),
    )


def _hgb_space() -> ConfigurationSpace:
    """Six of HistGradientBoosting's parameters; at most 50 boosting rounds (10 trees each on digits),
    which keeps one evaluation near a second."""
    return ConfigurationSpace(
        {
            "learning_rate": Float("learning_rate", (0.01, 1.0), log=True, default=0.1),
            "max_iter": Integer("max_iter", (10, 50), log=True, default=25),
            "max_leaf_nodes": Integer("max_leaf_nodes", (4, 64), log=True, default=31),
            "min_samples_leaf": Integer("min_samples_leaf", (1, 64), log=True, default=20),
            "l2_regularization": Float("l2_regularization", (1e-6, 10.0), log=True, default=1e-6),
            "max_features": Float("max_features", (0.1, 1.0), default=1.0),
        }
    )


def _hgb(config: dict[str, Any], seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(early_stopping=False, random_state=seed, **config)


def _mlp_space() -> ConfigurationSpace:
    """Layers of equal width, learning rate, alpha and batch size; width <= 128 and batches >= 32
    (50 epochs of Adam) keep one evaluation near a second."""
    return ConfigurationSpace(
        {
            "n_layers": Integer("n_layers", (1, 3), default=1),
            "units": Integer("units", (16, 128), log=True, default=64),
            "learning_rate_init": Float("learning_rate_init", (1e-4, 1e-1), log=True, default=1e-3),
            "alpha": Float("alpha", (1e-6, 1e-1), log=True, default=1e-4),
            "batch_size": Integer("batch_size", (32, 256), log=True, default=64),
        }
    )


def _mlp(config: dict[str, Any], seed: int) -> Any:
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        (config["units"],) * config["n_layers"],
        learning_rate_init=config["learning_rate_init"],
        alpha=config["alpha"],
        batch_size=config["batch_size"],
        max_iter=50,
        early_stopping=False,
        random_state=seed,
    )


def _pipe_space() -> ConfigurationSpace:
    """A scaler (or none) times a model, each model with its own parameters (four branches)."""
    cs = ConfigurationSpace()
    model = Categorical("model", ["logreg", "svc", "knn", "tree"], default="logreg")
    children: dict[str, list[Hyperparameter]] = {
        "logreg": [Float("logreg_C", (1e-4, 1e4), log=True, default=1.0)],
        "svc": [
            Float("svc_C", (1e-2, 1e3), log=True, default=1.0),
            Float("svc_gamma", (1e-4, 1.0), log=True, default=0.01),
        ],
        "knn": [Integer("knn_k", (1, 50), log=True, default=5), Categorical("knn_weights", ["uniform", "distance"])],
        "tree": [
            Integer("tree_max_depth", (1, 20), default=5),
            Integer("tree_min_samples_leaf", (1, 50), log=True, default=1),
        ],
    }
    cs.add([Categorical("scaler", ["none", "standard", "minmax", "robust"], default="standard"), model])
    for branch, hps in children.items():
        cs.add(hps)
        cs.add([EqualsCondition(hp, model, branch) for hp in hps])
    return cs


def _pipe(config: dict[str, Any], seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    scaler = {"none": "passthrough", "standard": StandardScaler(), "minmax": MinMaxScaler(), "robust": RobustScaler()}[
        config["scaler"]
    ]
    model = {
        "logreg": lambda: LogisticRegression(C=config["logreg_C"], max_iter=200),
        "svc": lambda: SVC(C=config["svc_C"], gamma=config["svc_gamma"], max_iter=100_000),
        "knn": lambda: KNeighborsClassifier(config["knn_k"], weights=config["knn_weights"]),
        "tree": lambda: DecisionTreeClassifier(
            max_depth=config["tree_max_depth"], min_samples_leaf=config["tree_min_samples_leaf"], random_state=seed
        ),
    }[config["model"]]()
    return make_pipeline(scaler, model)


SKLEARN: dict[str, tuple[Callable[[], ConfigurationSpace], Callable[[dict[str, Any], int], Any], str]] = {
    "svm-wine": (_svm_space, _svm, "wine"),
    "svm-bc": (_svm_space, _svm, "bc"),
    "hgb-digits": (_hgb_space, _hgb, "digits"),
    "mlp-digits": (_mlp_space, _mlp, "digits"),
    "pipe-bc": (_pipe_space, _pipe, "bc"),
}


def _sklearn(
    space: Callable[[], ConfigurationSpace], build: Callable[[dict[str, Any], int], Any], data: str, deterministic: bool
) -> RealProblem:
    def cost(config: dict[str, Any], seed: int) -> float:
        split = 0 if deterministic else seed
        return cv_error(build(config, split), data, split)

    return RealProblem(space, cost, deterministic)


PROBLEMS: dict[str, RealProblem] = {
    **{f"lcbench-{t}": _lcbench(t) for t in LCBENCH_TASKS},
    **{name: _sklearn(*spec, deterministic=True) for name, spec in SKLEARN.items()},
    **{f"{name}-noisy": _sklearn(*spec, deterministic=False) for name, spec in SKLEARN.items()},
}
