"""SMAC3's SVM example: scikit-learn's SVC on iris over a conditional space, five initial
configurations; written against SMAC3's API; arguments as in quickstart.py."""

import json
import sys

import numpy as np
from ConfigSpace import Categorical, Configuration, ConfigurationSpace, Float, Integer
from ConfigSpace.conditions import InCondition
from sklearn import datasets, svm
from sklearn.model_selection import cross_val_score

if sys.argv[1] == "smac":
    from smac import HyperparameterOptimizationFacade, Scenario
else:
    from mpismac.smac import HyperparameterOptimizationFacade, Scenario

iris = datasets.load_iris()


def configspace() -> ConfigurationSpace:
    cs = ConfigurationSpace(seed=0)
    kernel = Categorical("kernel", ["linear", "poly", "rbf", "sigmoid"], default="poly")
    C = Float("C", (0.001, 1000.0), default=1.0, log=True)
    shrinking = Categorical("shrinking", [True, False], default=True)
    degree = Integer("degree", (1, 5), default=3)
    coef = Float("coef0", (0.0, 10.0), default=0.0)
    gamma = Categorical("gamma", ["auto", "value"], default="auto")
    gamma_value = Float("gamma_value", (0.0001, 8.0), default=1.0, log=True)
    cs.add([kernel, C, shrinking, degree, coef, gamma, gamma_value])
    cs.add([InCondition(degree, kernel, ["poly"]), InCondition(coef, kernel, ["poly", "sigmoid"]),
            InCondition(gamma, kernel, ["rbf", "poly", "sigmoid"]), InCondition(gamma_value, gamma, ["value"])])
    return cs


def train(config: Configuration, seed: int = 0) -> float:
    params = dict(config)
    if "gamma" in params:
        params["gamma"] = params.pop("gamma_value") if params["gamma"] == "value" else "auto"
    classifier = svm.SVC(**params, random_state=seed, max_iter=100000)
    return 1 - float(np.mean(cross_val_score(classifier, iris.data, iris.target, cv=5)))


if __name__ == "__main__":
    cs = configspace()
    scenario = Scenario(cs, n_trials=20, output_directory=sys.argv[2],
                        seed=int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    initial_design = HyperparameterOptimizationFacade.get_initial_design(scenario, n_configs=5)
    smac = HyperparameterOptimizationFacade(scenario, train, initial_design=initial_design, overwrite=True,
                                            logging_level=40)
    incumbent = smac.optimize()
    result = {"incumbent": dict(incumbent), "cost": smac.validate(incumbent),
              "default_cost": smac.validate(cs.get_default_configuration()), "trials": len(smac.runhistory)}
    print("RESULT", json.dumps(result, default=str), flush=True)
