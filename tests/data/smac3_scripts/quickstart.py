"""SMAC3's quickstart (a function of one float), written against SMAC3's API; the first argument
picks `smac` or `mpismac.smac`, the second the output folder."""

import json
import sys

from ConfigSpace import Configuration, ConfigurationSpace, Float

if sys.argv[1] == "smac":
    from smac import HyperparameterOptimizationFacade, Scenario
else:
    from mpismac.smac import HyperparameterOptimizationFacade, Scenario


def quadratic(config: Configuration, seed: int = 0) -> float:
    return (config["x"] - 1.5) ** 2


if __name__ == "__main__":
    cs = ConfigurationSpace(seed=0)
    cs.add([Float("x", (-5, 5), default=-5)])
    scenario = Scenario(cs, deterministic=True, n_trials=25, output_directory=sys.argv[2],
                        seed=int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    smac = HyperparameterOptimizationFacade(scenario, quadratic, overwrite=True, logging_level=40)
    incumbent = smac.optimize()
    result = {"incumbent": dict(incumbent), "cost": smac.validate(incumbent),
              "default_cost": smac.validate(cs.get_default_configuration()), "trials": len(smac.runhistory)}
    print("RESULT", json.dumps(result, default=str), flush=True)
