"""SMAC3's `Scenario`: its field names and defaults, turned into an mpismac scenario."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ConfigSpace import ConfigurationSpace

from ..errors import ScenarioError
from ..scenario import Scenario as MpismacScenario
from ..space import configspace_to_json

SOURCE = "mpismac.smac.Scenario"


@dataclass(frozen=True)
class Scenario:
    """The fields of SMAC3 2.4's `smac.Scenario`, with its defaults. `n_workers` > 1 is refused
    when a facade is made: under MPI the workers are the ranks (`mpiexec -n N`)."""

    configspace: ConfigurationSpace
    name: str | None = None
    output_directory: Path = Path("smac3_output")
    deterministic: bool = False
    objectives: str | list[str] = "cost"
    crash_cost: float | list[float] = math.inf
    termination_cost_threshold: float | list[float] = math.inf
    walltime_limit: float = math.inf
    cputime_limit: float = math.inf
    trial_walltime_limit: float | None = None
    trial_memory_limit: int | None = None
    n_trials: int = 100
    use_default_config: bool = False
    instances: list[str] | None = None
    instance_features: dict[str, list[float]] | None = None
    adaptive_capping: bool = False
    adaptive_capping_slackfactor: float | None = None
    runtime_cutoff: int | None = None
    min_budget: float | int | None = None
    max_budget: float | int | None = None
    seed: int = 0
    n_workers: int = 1

    def count_objectives(self) -> int:
        return 1 if isinstance(self.objectives, str) else len(self.objectives)

    def count_instance_features(self) -> int:
        features = self.instance_features or {}
        return len(next(iter(features.values()))) if features else 0

    @property
    def run_name(self) -> str:
        """`name`, or (as SMAC3 does) a hash of the scenario's settings when it has none."""
        if self.name:
            return self.name
        settings = {k: v for k, v in self.__dict__.items() if k not in ("configspace", "output_directory")}
        text = json.dumps([configspace_to_json(self.configspace), settings], sort_keys=True, default=str)
        return hashlib.md5(text.encode()).hexdigest()

    def to_mpismac(self, facade: str, knobs: dict[str, Any]) -> MpismacScenario:
        """Our scenario for `facade` with the `knobs` the facade's components set. The runtime
        fields (adaptive capping, a runtime cutoff) are AlgorithmConfigurationFacade's: there
        they make the cost the trial's measured wall time (run_objective runtime); elsewhere
        they are refused, by name."""
        runtime = {key: getattr(self, key) for key in ("adaptive_capping", "runtime_cutoff",
                                                       "adaptive_capping_slackfactor")
                   if getattr(self, key) not in (None, False)}
        if runtime and facade != "algorithm_configuration":
            raise ScenarioError(SOURCE, [(key, "is AlgorithmConfigurationFacade's (algorithm configuration on "
                                               "runtime)") for key in runtime])
        objectives = [self.objectives] if isinstance(self.objectives, str) else list(self.objectives)
        threshold = self.termination_cost_threshold
        no_threshold = threshold is None or (not isinstance(threshold, list) and math.isinf(threshold))
        raw: dict[str, Any] = {
            "configspace": self.configspace, "name": self.run_name, "output_directory": str(self.output_directory),
            "deterministic": self.deterministic, "objectives": objectives, "crash_cost": self.crash_cost,
            "termination_cost_threshold": None if no_threshold else threshold,
            "walltime_limit": self.walltime_limit, "cputime_limit": self.cputime_limit,
            "trial_walltime_limit": self.trial_walltime_limit, "trial_memory_limit": self.trial_memory_limit,
            "n_trials": self.n_trials, "use_default_config": self.use_default_config, "instances": self.instances,
            "instance_features": self.instance_features, "min_budget": self.min_budget,
            "max_budget": self.max_budget, "seed": self.seed, "facade": facade, **knobs,
        }
        if runtime:  # SMAC3's target returns its runtime, which is the wall time it took
            raw.update(run_objective="runtime", runtime_measure="wall", runtime_cutoff=self.runtime_cutoff,
                       adaptive_capping=bool(self.adaptive_capping))
            if self.adaptive_capping_slackfactor is not None:
                raw["adaptive_capping_slackfactor"] = self.adaptive_capping_slackfactor
        return MpismacScenario.from_dict(raw, source=SOURCE)
