"""SMAC3's ask-and-tell example (Rosenbrock, a bound method as target; ask/tell for ten trials, then
optimize), written against SMAC3's API; arguments as in quickstart.py."""

import json
import sys

from ConfigSpace import Configuration, ConfigurationSpace, Float

if sys.argv[1] == "smac":
    from smac import HyperparameterOptimizationFacade, Scenario
    from smac.runhistory.dataclasses import TrialValue
else:
    from mpismac.smac import HyperparameterOptimizationFacade, Scenario
    from mpismac.smac.runhistory.dataclasses import TrialValue


class Rosenbrock2D:
    @property
    def configspace(self) -> ConfigurationSpace:
        cs = ConfigurationSpace(seed=0)
        cs.add([Float("x0", (-5, 10), default=-3), Float("x1", (-5, 10), default=-4)])
        return cs

    def train(self, config: Configuration, seed: int = 0) -> float:
        x1, x2 = config["x0"], config["x1"]
        return 100.0 * (x2 - x1**2.0) ** 2.0 + (1 - x1) ** 2.0


if __name__ == "__main__":
    model = Rosenbrock2D()
    scenario = Scenario(model.configspace, deterministic=False, n_trials=30, output_directory=sys.argv[2],
                        seed=int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    intensifier = HyperparameterOptimizationFacade.get_intensifier(scenario, max_config_calls=1)
    smac = HyperparameterOptimizationFacade(scenario, model.train, intensifier=intensifier, overwrite=True,
                                            logging_level=40)
    for _ in range(10):
        info = smac.ask()
        assert info.seed is not None
        smac.tell(info, TrialValue(cost=model.train(info.config, seed=info.seed), time=0.5))
    incumbent = smac.optimize()
    result = {"incumbent": dict(incumbent), "cost": smac.validate(incumbent),
              "default_cost": smac.validate(model.configspace.get_default_configuration()),
              "trials": len(smac.runhistory)}
    print("RESULT", json.dumps(result, default=str), flush=True)
