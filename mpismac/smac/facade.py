"""SMAC3's facades on mpismac: `optimize()` (serial, or master-worker under `mpiexec`), `ask()` /
`tell()`, `runhistory`, `intensifier.get_incumbent(s)()`, `validate()` and the `get_*` helpers."""

from __future__ import annotations

import atexit
import dataclasses
import logging
import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from ConfigSpace import Configuration

from .. import trial
from ..api import optimize
from ..errors import UserError
from ..execution import TrialRequest
from ..optimizer.intensifier import make_pairs
from ..optimizer.streams import derived_int
from ..runhistory import RunHistory as Runs
from ..runhistory.folder import LOGS, load_run
from ..runtime.driver import Driver
from ..runtime.session import Session
from ..runtime.trials import start_executor
from ..space import config_values
from ..target import parse_target
from ..world import world
from . import components as parts
from .components import UNSET, Component
from .runhistory import RunHistory, TrialInfo, TrialValue
from .scenario import Scenario

MPIEXEC = ("mpismac runs the workers as MPI ranks: keep n_workers=1 and no dask_client, and start the same "
           "script with `mpiexec -n N python script.py` for N-1 workers (every rank runs the script; "
           "optimize() returns the result on every rank)")
COMPONENTS = ("model", "acquisition_function", "acquisition_maximizer", "initial_design", "random_design",
              "intensifier", "multi_objective_algorithm", "runhistory_encoder", "config_selector")


class IncumbentView:
    """The reads of SMAC3's intensifier that scripts use: the incumbent(s)."""

    def __init__(self, facade: AbstractFacade):
        self._facade = facade

    def get_incumbents(self, sort_by: str | None = None) -> list[Configuration]:
        """The incumbents: one, or the Pareto front, in cost order (SMAC3's `sort_by="cost"`)."""
        if sort_by not in (None, "cost"):
            raise UserError(f"mpismac.smac: get_incumbents(sort_by={sort_by!r}) is not supported: the "
                            "incumbents come in cost order (sort_by='cost')")
        return self._facade._incumbents()

    def get_incumbent(self) -> Configuration | None:
        """The incumbent; an error with several objectives, as in SMAC3 (use get_incumbents)."""
        if self._facade.scenario.count_objectives() > 1:
            raise ValueError("several objectives have a Pareto front of incumbents: use get_incumbents()")
        front = self._facade._incumbents()
        return front[0] if front else None


class AbstractFacade:
    """What every facade shares; subclasses name mpismac's facade (`FACADE`)."""

    FACADE = "hpo"

    def __init__(self, scenario: Scenario, target_function: Callable[..., Any] | str | None = None, *,
                 model: Any = None, acquisition_function: Any = None, acquisition_maximizer: Any = None,
                 initial_design: Any = None, random_design: Any = None, intensifier: Any = None,
                 multi_objective_algorithm: Any = None, runhistory_encoder: Any = None, config_selector: Any = None,
                 logging_level: int | Path | bool | None = None, callbacks: list[Any] | None = None,
                 overwrite: bool = False, dask_client: Any = None):
        if dask_client is not None or getattr(scenario, "n_workers", 1) > 1:
            raise UserError(f"mpismac.smac: {'dask_client' if dask_client is not None else 'n_workers > 1'}: {MPIEXEC}")
        if callbacks:
            raise UserError("mpismac.smac: callbacks are not supported: read the run folder while it runs "
                            "(`python -m mpismac report RUN_DIR`) or use ask()/tell()")
        if not isinstance(scenario, Scenario):
            scenario = _from_smac3(scenario)
        given = dict(zip(COMPONENTS, (model, acquisition_function, acquisition_maximizer, initial_design,
                                      random_design, intensifier, multi_objective_algorithm, runhistory_encoder,
                                      config_selector), strict=True))
        knobs: dict[str, Any] = {}
        for name, value in given.items():
            if value is None:
                continue
            if not isinstance(value, Component) or value.kind != name:
                raise UserError(f"mpismac.smac: {type(self).__name__}({name}=...) takes what "
                                f"{type(self).__name__}.get_{name}(scenario, ...) returns, got "
                                f"{type(value).__name__} (SMAC3's own components do not run here)")
            knobs.update(value.knobs)
        if isinstance(logging_level, int) and not isinstance(logging_level, bool):
            logging.getLogger("mpismac").setLevel(logging_level)
        self._show_progress = logging_level is not False
        self._scenario = scenario
        self._ours = scenario.to_mpismac(self.FACADE, knobs)
        self._target = target_function
        self._fresh = bool(overwrite)  # SMAC3's overwrite: the first run of this facade starts over
        self._session: Session | None = None
        self._driver: Driver | None = None
        self._opened = False  # an ask/tell session is open
        self._comm: Any = None  # COMM_WORLD under mpiexec, once ask/tell began
        self._asked: dict[TrialInfo, list[trial.TrialInfo]] = {}
        self._result_front: list[Configuration] | None = None

    # -- what SMAC3's facade exposes ------------------------------------------------------------------

    @property
    def scenario(self) -> Scenario:
        return self._scenario

    @property
    def intensifier(self) -> IncumbentView:
        return IncumbentView(self)

    @property
    def runhistory(self) -> RunHistory:
        """The run's trials so far (read from the run folder after `optimize()`)."""
        return RunHistory(self._runs())

    def optimize(self, *, data_to_scatter: dict[str, Any] | None = None) -> Configuration | list[Configuration] | None:
        """Run the scenario (resuming its run folder unless `overwrite`): serially, or under
        `mpiexec -n N` master-worker over every rank. Returns the incumbent, or with several
        objectives the Pareto front, on every rank."""
        if data_to_scatter is not None:
            raise UserError("mpismac.smac: optimize(data_to_scatter=...) is for Dask; load the data in the "
                            "target's module, once per trial process")
        self._close_ask_tell()
        result = optimize(self._target, self._ours, world(), fresh=self._take_fresh(),
                          show_progress=self._show_progress)
        self._result_front = [self._config(p.config) for p in result.front]
        if self._scenario.count_objectives() > 1:
            return list(self._result_front)
        return self._result_front[0] if self._result_front else None

    def ask(self) -> TrialInfo:
        """The next trial to evaluate; written to the run folder as started. Under `mpiexec`
        rank 0 asks and every rank gets the same trial (each runs the script's loop)."""
        comm = self._open()
        made = None
        if self._driver is not None:
            info = self._driver.ask()
            self._driver.started(info, worker=0)
            made = (info.config, info.instance, info.seed, info.budget)
        if comm is not None:
            made = comm.bcast(made, root=0)
        assert made is not None
        asked = TrialInfo(self._config(made[0]), *made[1:])
        if self._driver is not None:
            self._asked.setdefault(asked, []).append(info)
        return asked

    def tell(self, info: TrialInfo, value: TrialValue, save: bool = True) -> None:
        """The result of a trial from `ask()`: recorded (by rank 0 under `mpiexec`), and the model
        updated. `save=False` is not offered: every result goes to the run folder's journal."""
        if not save:
            raise UserError("mpismac.smac: tell(save=False) is not supported: every result is written to the "
                            "run folder's journal as it comes (that is what makes a run resumable)")
        if self._driver is None:
            if self._comm is not None:  # another rank: rank 0 records the same result
                return
            raise UserError("mpismac.smac: tell() takes a TrialInfo that ask() returned")
        ours = self._asked.get(info)
        if not ours:
            raise UserError("mpismac.smac: tell() takes a TrialInfo that ask() returned and that was not told yet "
                            "(configurations evaluated elsewhere cannot be told in this version)")
        asked = ours.pop(0)
        if not ours:
            del self._asked[info]
        self._driver.finished(asked, _our_value(value))
        self._driver.update_model()

    def validate(self, config: Configuration, *, seed: int | None = None) -> float | list[float]:
        """The mean cost of `config` on the scenario's instances and on seeds other than the run's
        (from `seed`), each trial with the scenario's limits."""
        comm = world()
        if comm is not None and comm.Get_rank() != 0:
            result: float | list[float] = comm.bcast(None, root=0)  # rank 0 runs the trials
            return result
        pairs = make_pairs(self._ours, derived_int(self._ours.seed if seed is None else seed, "validate"))
        costs = []
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / LOGS).mkdir()
            target = self._target if self._target is not None else self._ours.target
            if target is None:
                raise UserError("mpismac.smac: validate() needs a target function")
            if isinstance(target, str):
                target = parse_target(target, Path.cwd())
            executor = start_executor(self._ours, target, Path(tmp), 0, {})
            try:
                for i, (instance, trial_seed) in enumerate(pairs):
                    executor.submit(TrialRequest(i, 0, config_values(config), trial_seed, instance,
                                                 self._ours.max_budget))
                    while (value := executor.poll(0.1)) is None:
                        pass
                    costs.append(value.cost)
            finally:
                executor.close()
        mean = np.mean(costs, axis=0)
        result = float(mean[0]) if len(mean) == 1 else [float(c) for c in mean]
        return comm.bcast(result, root=0) if comm is not None else result

    # -- the get_* helpers: SMAC3's signatures ---------------------------------------------------------

    @classmethod
    def get_initial_design(cls, scenario: Scenario, *, n_configs: int | None = UNSET,
                           n_configs_per_hyperparameter: int = UNSET, max_ratio: float = UNSET,
                           additional_configs: list[Configuration] | None = UNSET) -> Component:
        return parts.initial_design(f"{cls.__name__}.get_initial_design", scenario, n_configs,
                                    n_configs_per_hyperparameter, max_ratio, additional_configs)

    @classmethod
    def get_intensifier(cls, scenario: Scenario, *, max_config_calls: int = UNSET,
                        max_incumbents: int = UNSET) -> Component:
        return parts.intensifier(f"{cls.__name__}.get_intensifier", max_config_calls, max_incumbents)

    @classmethod
    def get_random_design(cls, scenario: Scenario, *, probability: float = UNSET) -> Component:
        return parts.random_design(f"{cls.__name__}.get_random_design", probability)

    @classmethod
    def get_model(cls, scenario: Scenario, **kwargs: Any) -> Component:
        return parts.component("model", f"{cls.__name__}.get_model", kwargs)

    @classmethod
    def get_acquisition_function(cls, scenario: Scenario, **kwargs: Any) -> Component:
        return parts.component("acquisition_function", f"{cls.__name__}.get_acquisition_function", kwargs)

    @classmethod
    def get_acquisition_maximizer(cls, scenario: Scenario, **kwargs: Any) -> Component:
        return parts.component("acquisition_maximizer", f"{cls.__name__}.get_acquisition_maximizer", kwargs)

    @classmethod
    def get_multi_objective_algorithm(cls, scenario: Scenario, **kwargs: Any) -> Component:
        return parts.component("multi_objective_algorithm", f"{cls.__name__}.get_multi_objective_algorithm", kwargs)

    @classmethod
    def get_runhistory_encoder(cls, scenario: Scenario, **kwargs: Any) -> Component:
        return parts.component("runhistory_encoder", f"{cls.__name__}.get_runhistory_encoder", kwargs)

    @classmethod
    def get_config_selector(cls, scenario: Scenario, **kwargs: Any) -> Component:
        return parts.component("config_selector", f"{cls.__name__}.get_config_selector", kwargs)

    # -- internals ---------------------------------------------------------------------------------------

    def _config(self, values: dict[str, Any]) -> Configuration:
        return Configuration(self._ours.configspace, values=values)

    def _take_fresh(self) -> bool:
        fresh, self._fresh = self._fresh, False
        return fresh

    def _open(self) -> Any:
        """The ask/tell session on the run folder, opened on the first `ask()`: in this process,
        or under `mpiexec` on rank 0 (returns COMM_WORLD then, else None)."""
        if self._opened:
            return self._comm
        self._comm = world()
        if self._comm is None or self._comm.Get_rank() == 0:
            session = Session(self._ours, fresh=self._take_fresh())
            try:
                session.begin()
                self._driver = Driver(self._ours, session, ranks=1, show_progress=False)
            except BaseException:
                session.close()
                raise
            self._session = session
            atexit.register(self._close_ask_tell)
        else:
            self._take_fresh()
        self._opened = True
        return self._comm

    def _close_ask_tell(self) -> None:
        """Checkpoint and release the run folder; trials asked and not told run again on resume."""
        if self._driver is not None and self._session is not None:
            try:
                self._driver.finish("ask_tell")
            finally:
                self._session.close()
                self._driver = self._session = None
        self._asked.clear()
        if self._opened and self._comm is not None:
            self._comm.Barrier()  # every rank starts optimize() once rank 0 let go of the folder
        self._opened = False

    def _runs(self) -> Runs:
        if self._driver is not None:
            return self._driver.rh
        if (self._ours.run_dir / "scenario.yaml").is_file():
            return load_run(self._ours.run_dir).state.runhistory
        return Runs(self._ours.configspace, self._ours.objectives)

    def _incumbents(self) -> list[Configuration]:
        if self._driver is not None:
            return [self._config(inc.config) for inc in self._driver.optimizer.incumbents]
        if self._result_front is not None:
            return list(self._result_front)
        runs = self._runs()
        return [self._config(runs.configs[config_id]) for config_id, _ in runs.front]


class HyperparameterOptimizationFacade(AbstractFacade):
    """SMAC3's HPO facade: a random forest, here mpismac's `hpo` (extremely randomized trees, local steps)."""

    FACADE = "hpo"


class BlackBoxFacade(AbstractFacade):
    """SMAC3's black-box facade: a Gaussian process (`blackbox`)."""

    FACADE = "blackbox"


class RandomFacade(AbstractFacade):
    """SMAC3's random facade: the initial design, then random configurations (`random`)."""

    FACADE = "random"


class MultiFidelityFacade(AbstractFacade):
    """SMAC3's multi-fidelity facade (Hyperband over successive halving, eta 3): here
    `multi_fidelity`, asynchronous successive halving over Hyperband's brackets. The scenario
    needs `min_budget` and `max_budget`; the target gets `budget` if it declares it."""

    FACADE = "multi_fidelity"

    @classmethod
    def get_intensifier(cls, scenario: Scenario, *, eta: int = UNSET, n_seeds: int = UNSET,
                        max_incumbents: int = UNSET, incumbent_selection: str = UNSET,
                        max_config_calls: int = UNSET) -> Component:
        """SMAC3's Hyperband: `eta` sets ours; the incumbent is always the best at max_budget."""
        helper = f"{cls.__name__}.get_intensifier"
        if incumbent_selection not in (UNSET, "highest_budget"):
            raise parts.refuse(helper, "incumbent_selection", "the incumbent is the best configuration at max_budget "
                                                               "('highest_budget'); `report` shows the best per budget")
        base = parts.intensifier(helper, max_config_calls, max_incumbents)
        parts.component("intensifier", helper, {"n_seeds": n_seeds})
        return parts.Component("intensifier", {**base.knobs, **({} if eta is UNSET else {"eta": eta})})


class AlgorithmConfigurationFacade(AbstractFacade):
    """SMAC3's algorithm-configuration facade: `algorithm_configuration`, racing over the
    scenario's instances. With `runtime_cutoff` or `adaptive_capping` the cost of a trial is the
    wall time it took (as SMAC3's targets return it), a timeout costs 10 x the cutoff, and
    challengers' runs are capped; the target gets `cutoff` if it declares it."""

    FACADE = "algorithm_configuration"


def _our_value(value: TrialValue | Any) -> trial.TrialValue:
    """SMAC3's TrialValue (or a bare cost) as ours; a value without times ends now."""
    if not isinstance(value, TrialValue):
        if hasattr(value, "cost") and hasattr(value, "status"):  # smac.runhistory.TrialValue
            value = TrialValue(value.cost, value.time, getattr(value, "cpu_time", 0.0), value.status,
                               value.starttime, value.endtime, dict(value.additional_info))
        else:
            value = TrialValue(value)
    cost = value.cost if isinstance(value.cost, (list, tuple, np.ndarray)) else [value.cost]
    end = value.endtime or time.time()
    start = value.starttime or end - value.time
    info = dict(value.additional_info)
    if value.cpu_time:
        info["cpu_time"] = float(value.cpu_time)
    return trial.TrialValue(tuple(float(c) for c in cost), trial.Status(int(value.status)), start, end, info)


def _from_smac3(scenario: Any) -> Scenario:
    """SMAC3's own Scenario (a script that kept `from smac import Scenario`) read field by field."""
    names = [f.name for f in dataclasses.fields(Scenario)]
    if not all(hasattr(scenario, n) for n in ("configspace", "n_trials", "objectives")):
        raise TypeError(f"mpismac.smac: scenario must be a mpismac.smac.Scenario, got {type(scenario).__name__}")
    values = {n: getattr(scenario, n) for n in names if hasattr(scenario, n)}
    if values.get("crash_cost") is None:
        values["crash_cost"] = math.inf
    return Scenario(**values)
