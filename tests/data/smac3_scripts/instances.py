"""SMAC3's cross-validation-as-instances example: an SVM on digits, each fold an instance, raced
by the intensifier; written against SMAC3's API; arguments as in quickstart.py."""

import json
import sys

from ConfigSpace import Configuration, ConfigurationSpace, Float
from sklearn import datasets, svm
from sklearn.model_selection import StratifiedKFold

if sys.argv[1] == "smac":
    from smac import HyperparameterOptimizationFacade, Scenario
else:
    from mpismac.smac import HyperparameterOptimizationFacade, Scenario

N_FOLDS = 4
X, y = datasets.load_digits(return_X_y=True)
X, y = X[::2], y[::2]  # half of digits: the test stays quick


def train(config: Configuration, instance: str, seed: int = 0) -> float:
    classifier = svm.SVC(**dict(config), random_state=seed)
    splitter = StratifiedKFold(n_splits=N_FOLDS, shuffle=True, random_state=seed)
    train_idx, test_idx = list(splitter.split(X, y))[int(instance)]
    classifier.fit(X[train_idx], y[train_idx])
    return 1 - classifier.score(X[test_idx], y[test_idx])


if __name__ == "__main__":
    cs = ConfigurationSpace(seed=0)
    cs.add([Float("C", (2**-5, 2**15), default=1.0, log=True), Float("gamma", (2**-15, 2**3), default=1.0, log=True)])
    scenario = Scenario(cs, n_trials=30, instances=[str(i) for i in range(N_FOLDS)],
                        instance_features={str(i): [i] for i in range(N_FOLDS)}, deterministic=True,
                        output_directory=sys.argv[2],
                        seed=int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    initial_design = HyperparameterOptimizationFacade.get_initial_design(scenario, n_configs=5)
    intensifier = HyperparameterOptimizationFacade.get_intensifier(scenario, max_config_calls=N_FOLDS)
    smac = HyperparameterOptimizationFacade(scenario, train, initial_design=initial_design,
                                            intensifier=intensifier, overwrite=True, logging_level=40)
    incumbent = smac.optimize()
    result = {"incumbent": dict(incumbent), "cost": smac.validate(incumbent),
              "default_cost": smac.validate(cs.get_default_configuration()), "trials": len(smac.runhistory),
              "configs": len(smac.runhistory.config_ids)}
    print("RESULT", json.dumps(result, default=str), flush=True)
