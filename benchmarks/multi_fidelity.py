"""Multi-fidelity quality at W workers in a simulated clock: mpismac's `multi_fidelity` facade
against SMAC3 2.4.1's MultiFidelityFacade (Hyperband), DEHB 0.1.2, Optuna 5.0 TPE with its
HyperbandPruner, and mpismac's `hpo` at max_budget only; same problems, seeds and clock. Two
variants of ours answer the issue's "measure which": `ours-hb` (brackets: hyperband, Hyperband's
fixed shares) and `ours-bohb` (BOHB's model: a forest on the aimed-at budget's results only,
instead of one forest over every budget).

    .venv/bin/python benchmarks/multi_fidelity.py --seeds 5 --workers 8 --horizon 30
    .venv/bin/python benchmarks/multi_fidelity.py --table          # the table from the cache only

The clock: W workers; every tool is driven through its ask/tell interface by one event loop. A
free worker asks the tool for a trial at once (none of these tools makes a worker wait: each
hands out a new configuration when its rungs wait for results), the trial lasts its problem's
duration at its budget, and its result is told when it ends, in the order trials end. Optimizer
time is not on the clock (it is reported apart, as CPU per trial), so the comparison is of the
decisions alone: which configurations run at which budgets. Optuna's trials are whole training
runs that report every integer budget step (min_budget, ... max_budget) and stop when its pruner says
so; a step reached costs the problem's duration at that step (training continues). The other
tools start each trial over, at its budget (mpismac's `checkpoint` argument would let a target
continue, but no peer can, so it is not used here).

Problems (minimized), eta 3:
- mfh3-good, mfh3-bad, mfh6-good, mfh6-bad: multi-fidelity Hartmann 3 and 6 as mf-prior-bench
  builds it: fidelity z = the budget rounded, 3..100 (levels 3.7, 11.1, 33.3, 100); with
  s = ln z / ln 100 every alpha_i is lowered by bias (1 - s) and |normal| noise times
  noise (1 - s) is added (deterministic per configuration and z). good: bias 2.5, noise 2.0;
  bad: bias 3.5, noise 4.0 (its presets). A trial at z lasts its cost model, 0.05 + 0.95
  (z / 100)^2 time units. Regret = Hartmann at the configuration - its minimum (-3.86278,
  -3.32237).
- lcbench-TASK: the LCBench surrogate (YAHPO Gym's ONNX model, `--lcbench DIR`, the shared
  benchmark data), 7 hyperparameters, budget = epochs 1..52 (levels 1.93, 5.78, 17.3, 52, each
  rounded to an epoch), cost = 100 - validation accuracy, a trial lasts the surrogate's training
  time to that epoch. Regret = cost - the best cost any run of any tool in the cache reached at
  52 epochs on that task (the optimum is unknown); the raw error is in the cache too.
- mlp-digits: examples/mlp_digits.py trained for real (scikit-learn's MLPClassifier on the digits
  data, 5 hyperparameters; width <= 128, depth <= 2, batch >= 32 to keep runs to minutes),
  budget = epochs 1..27 (1, 3, 9, 27), cost = validation error; a trial at budget z lasts z / 27
  units (training time grows with epochs; the clock stays deterministic).
  Regret against the best error any run reached at 27 epochs.

Anytime quality = the regret of the best configuration finished at max_budget so far (every tool
gets the same rule). Each (tool, problem, seed) run is appended to the cache (`--out`) when it
ends; a rerun skips what the cache holds unless `--fresh`.
"""

from __future__ import annotations

import os

os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")  # one core per run

import argparse
import heapq
import json
import math
import statistics
import sys
import tempfile
import time
import warnings
import zlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from ConfigSpace import Configuration, ConfigurationSpace, Float, Integer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's mpismac

from problems import optuna_distributions  # noqa: E402

TOOLS = ("ours", "ours-hb", "ours-bohb", "ours-hpo", "smac3-mf", "dehb", "optuna-hb")
LCBENCH_TASKS = ("3945", "7593", "34539", "126025", "126026", "126029", "146212", "167104", "167149", "167152")
PEERS = ("ours-hpo", "smac3-mf", "dehb", "optuna-hb")  # ours against these; ours-hb, ours-bohb are variants
FRACTIONS = (0.25, 0.5, 1.0)  # of the horizon, in the table


# -- problems ---------------------------------------------------------------------------------------

class Problem:
    """A space, budgets, and per (configuration, budget) a cost and a duration."""

    name = ""
    min_budget, max_budget = 1.0, 81.0
    optimum: float | None = None  # None: regret against the best any run reached

    def space(self, seed: int) -> ConfigurationSpace:
        raise NotImplementedError

    def evaluate(self, config: dict[str, Any], budget: float) -> tuple[float, float]:
        """(cost, duration) of a trial at `budget` from scratch."""
        raise NotImplementedError

    def curve(self, config: dict[str, Any], steps: list[int]) -> list[tuple[float, float]]:
        """(cost, duration so far) after each step of one training run (Optuna's trials)."""
        return [self.evaluate(config, float(s)) for s in steps]


_H3 = (np.array([1.0, 1.2, 3.0, 3.2]),
       np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]]),
       1e-4 * np.array([[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]]),
       -3.86278)
_H6 = (np.array([1.0, 1.2, 3.0, 3.2]),
       np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8],
                 [17, 8, 0.05, 10, 0.1, 14]]),
       1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                        [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]),
       -3.32237)


class MFHartmann(Problem):
    """mf-prior-bench's MFHartmann: fidelity z in 3..100 (an integer), s = ln z / ln 100."""

    min_budget, max_budget = 3.0, 100.0

    def __init__(self, dim: int, bias: float, noise: float, name: str):
        self.alpha, self.a, self.p, self.optimum = _H3 if dim == 3 else _H6
        self.dim, self.bias, self.noise, self.name = dim, bias, noise, name

    def space(self, seed: int) -> ConfigurationSpace:
        return ConfigurationSpace({f"x{i}": Float(f"x{i}", (0.0, 1.0)) for i in range(self.dim)}, seed=seed)

    def value(self, x: np.ndarray, z: int) -> float:
        s = math.log(z) / math.log(self.max_budget)
        alpha = self.alpha - self.bias * (1 - s)
        h = -float(np.sum(alpha * np.exp(-np.sum(self.a * (x - self.p) ** 2, axis=1))))
        rng = np.random.default_rng([zlib.crc32(x.tobytes()), z])
        return h + abs(float(rng.normal())) * self.noise * (1 - s)

    def evaluate(self, config: dict[str, Any], budget: float) -> tuple[float, float]:
        x = np.array([config[f"x{i}"] for i in range(self.dim)], dtype=float)
        z = int(round(budget))
        return self.value(x, z), 0.05 + 0.95 * (z / self.max_budget) ** 2


class LCBench(Problem):
    """The LCBench surrogate on one task (YAHPO Gym data, ONNX)."""

    max_budget = 52.0
    _session: Any = None
    _cs_json: dict[str, Any] | None = None
    data = ROOT.parent / "shared" / "benchdata" / "lcbench"

    def __init__(self, task: str):
        self.task, self.name = task, f"lcbench-{task}"

    def _load(self) -> None:
        if LCBench._session is None:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = options.inter_op_num_threads = 1
            LCBench._session = onnxruntime.InferenceSession(str(self.data / "model.onnx"), options)
            LCBench._cs_json = json.loads((self.data / "config_space.json").read_text())
            LCBench._codes = json.loads((self.data / "encoding.json").read_text())["OpenML_task_id"]

    def space(self, seed: int) -> ConfigurationSpace:
        self._load()
        assert self._cs_json is not None
        raw = json.loads(json.dumps(self._cs_json))  # the reader changes what it reads
        raw["hyperparameters"] = [h for h in raw["hyperparameters"] if h["name"] not in ("OpenML_task_id", "epoch")]
        raw["conditions"], raw["forbiddens"] = [], []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cs = ConfigurationSpace.from_serialized_dict(raw)
        cs.seed(seed)
        return cs

    def _predict(self, config: dict[str, Any], epochs: list[int]) -> np.ndarray:
        self._load()
        names = ("batch_size", "learning_rate", "momentum", "weight_decay", "num_layers", "max_units", "max_dropout")
        rows = np.array([[e, *(float(config[n]) for n in names)] for e in epochs], dtype=np.float32)
        cat = np.full((len(epochs), 1), LCBench._codes[self.task], dtype=np.int32)
        return LCBench._session.run(None, {"x_cont": rows, "x_cat": cat})[0]

    def evaluate(self, config: dict[str, Any], budget: float) -> tuple[float, float]:
        epoch = int(min(52, max(1, round(budget))))
        out = self._predict(config, [epoch])[0]
        return 100.0 - float(out[1]), float(out[0])

    def curve(self, config: dict[str, Any], steps: list[int]) -> list[tuple[float, float]]:
        out = self._predict(config, [int(min(52, max(1, s))) for s in steps])
        return [(100.0 - float(o[1]), float(o[0])) for o in out]


class MLPDigits(Problem):
    """examples/mlp_digits.py's MLP on the digits data, trained for real: budget = epochs 1..27."""

    name, max_budget = "mlp-digits", 27.0
    example = ROOT / "examples" / "mlp_digits"

    def space(self, seed: int) -> ConfigurationSpace:
        """The example's space with width <= 128, depth <= 2 and batches >= 32: its largest
        networks train for half a minute on a shared core, too long for 30 runs of hundreds."""
        return ConfigurationSpace({
            "width": Integer("width", (16, 128), log=True), "depth": Integer("depth", (1, 2)),
            "alpha": Float("alpha", (1e-6, 0.1), log=True),
            "learning_rate": Float("learning_rate", (1e-4, 0.1), log=True),
            "batch_size": Integer("batch_size", (32, 256), log=True)}, seed=seed)

    def _module(self) -> Any:
        if "mlp_digits" not in sys.modules:
            import importlib.util

            spec = importlib.util.spec_from_file_location("mlp_digits", self.example.with_suffix(".py"))
            assert spec is not None and spec.loader is not None
            sys.modules["mlp_digits"] = module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            warnings.filterwarnings("ignore", message="Got `batch_size`")  # partial_fit on one sample
        return sys.modules["mlp_digits"]

    def evaluate(self, config: dict[str, Any], budget: float) -> tuple[float, float]:
        return float(self._module().train(config, 0, budget)), budget / self.max_budget

    def curve(self, config: dict[str, Any], steps: list[int]) -> list[tuple[float, float]]:
        m = self._module()
        mlp = m.MLPClassifier(hidden_layer_sizes=(config["width"],) * config["depth"], alpha=config["alpha"],
                              learning_rate_init=config["learning_rate"], batch_size=config["batch_size"],
                              random_state=0)
        mlp.partial_fit(m.X_train[:1], m.y_train[:1], classes=m.CLASSES)
        out, done = [], 0
        for s in steps:
            for _ in range(done, s):
                mlp.partial_fit(m.X_train, m.y_train)
            done = s
            out.append((1.0 - float(mlp.score(m.X_valid, m.y_valid)), s / self.max_budget))
        return out


PROBLEMS: dict[str, Problem] = {
    "mfh3-good": MFHartmann(3, 2.5, 2.0, "mfh3-good"),
    "mfh3-bad": MFHartmann(3, 3.5, 4.0, "mfh3-bad"),
    "mfh6-good": MFHartmann(6, 2.5, 2.0, "mfh6-good"),
    "mfh6-bad": MFHartmann(6, 3.5, 4.0, "mfh6-bad"),
    **{f"lcbench-{t}": LCBench(t) for t in LCBENCH_TASKS},
    "mlp-digits": MLPDigits(),
}


def time_unit(problem: Problem) -> float:
    """The duration of one trial at max_budget (LCBench: of the default configuration)."""
    cs = problem.space(0)
    return problem.evaluate(dict(cs.get_default_configuration()), problem.max_budget)[1]


# -- tools: ask() -> (handle, config values, budget); tell(handle, cost, duration) ----------------------

class Ours:
    def __init__(self, problem: Problem, seed: int, facade: str, **settings: Any):
        from mpismac import Optimizer, Scenario

        self.opt = Optimizer(Scenario(problem.space(seed), facade=facade, min_budget=problem.min_budget,
                                      max_budget=problem.max_budget, n_trials=10**6, deterministic=True, seed=seed,
                                      **settings))

    def ask(self) -> tuple[Any, dict[str, Any], float]:
        info = self.opt.ask()
        return info, dict(info.config), float(info.budget)

    def tell(self, handle: Any, cost: float, duration: float) -> None:
        self.opt.tell(handle, cost)


def _per_budget_model(scenario: Any) -> Any:
    """ours-bohb: the multi_fidelity proposer with BOHB's model instead of the joint forest: a
    forest on the aimed-at rung's results only (the highest rung with 4 of them)."""
    from mpismac.optimizer.multi_fidelity import AtLevel, MultiFidelityBO, with_level
    from mpismac.optimizer.surrogate import Forest

    class PerBudgetBO(MultiFidelityBO):
        def fit(self, data: Any) -> Any:
            forest = Forest()
            rows = data.aim.rows
            forest.fit(with_level(self._features(rows), data.aim_level), data.aim.y, data.seed)
            return AtLevel(forest, data.aim_level), data.aim

    return PerBudgetBO(scenario)


class OursPerBudget(Ours):
    def __init__(self, problem: Problem, seed: int):
        from mpismac.optimizer import optimizer

        joint = optimizer.PROPOSERS["multi_fidelity"]
        optimizer.PROPOSERS["multi_fidelity"] = _per_budget_model
        try:
            super().__init__(problem, seed, "multi_fidelity")
        finally:
            optimizer.PROPOSERS["multi_fidelity"] = joint


def _never(config: Configuration, seed: int = 0, budget: float = 0.0) -> float:
    raise RuntimeError("ask/tell only")


class Smac3:
    def __init__(self, problem: Problem, seed: int):
        from smac import MultiFidelityFacade
        from smac import Scenario as SmacScenario

        self._tmp = tempfile.TemporaryDirectory()
        scenario = SmacScenario(problem.space(seed), deterministic=True, n_trials=10**6, seed=seed,
                                min_budget=problem.min_budget, max_budget=problem.max_budget,
                                output_directory=Path(self._tmp.name))
        self.facade = MultiFidelityFacade(scenario, _never, intensifier=MultiFidelityFacade.get_intensifier(
            scenario, eta=3), overwrite=True, logging_level=40)

    def ask(self) -> tuple[Any, dict[str, Any], float]:
        info = self.facade.ask()
        return info, dict(info.config), float(info.budget)

    def tell(self, handle: Any, cost: float, duration: float) -> None:
        from smac.runhistory.dataclasses import TrialValue

        self.facade.tell(handle, TrialValue(cost=cost, time=duration))


class Dehb:
    def __init__(self, problem: Problem, seed: int):
        from dehb import DEHB
        from loguru import logger

        logger.remove()
        self._tmp = tempfile.TemporaryDirectory()
        cs = problem.space(seed)
        self.dehb = DEHB(cs=cs, dimensions=len(cs), min_fidelity=problem.min_budget,
                         max_fidelity=problem.max_budget, eta=3, n_workers=1, seed=seed,
                         output_path=self._tmp.name, save_freq="end")

    def ask(self) -> tuple[Any, dict[str, Any], float]:
        job = self.dehb.ask()
        return job, dict(job["config"]), float(job["fidelity"])

    def tell(self, handle: Any, cost: float, duration: float) -> None:
        self.dehb.tell(handle, {"fitness": cost, "cost": duration})


# -- the clock --------------------------------------------------------------------------------------

def simulate(tool_name: str, problem: Problem, seed: int, workers: int, horizon: float) -> dict[str, Any]:
    """Run one tool for `horizon` time units of W workers; every finished trial as
    (end time, budget, cost), and the tool's CPU per trial."""
    unit = time_unit(problem)
    end = horizon * unit
    if tool_name == "optuna-hb":
        return _simulate_optuna(problem, seed, workers, end, unit)
    tool: Any = {"ours": lambda: Ours(problem, seed, "multi_fidelity"),
                 "ours-hb": lambda: Ours(problem, seed, "multi_fidelity", brackets="hyperband"),
                 "ours-bohb": lambda: OursPerBudget(problem, seed),
                 "ours-hpo": lambda: Ours(problem, seed, "hpo"),
                 "smac3-mf": lambda: Smac3(problem, seed), "dehb": lambda: Dehb(problem, seed)}[tool_name]()
    running: list[tuple[float, int, Any, float, float, float]] = []  # (end, n, handle, budget, cost, duration)
    finished: list[tuple[float, float, float]] = []
    cpu, n, now = 0.0, 0, 0.0
    while True:
        while len(running) < workers and now < end:
            t0 = time.process_time()
            handle, config, budget = tool.ask()
            cpu += time.process_time() - t0
            cost, duration = problem.evaluate(config, budget)
            heapq.heappush(running, (now + duration, n, handle, budget, cost, duration))
            n += 1
        if not running:
            break
        now, _, handle, budget, cost, duration = heapq.heappop(running)
        if now > end:
            break
        finished.append((now / unit, budget, cost))
        t0 = time.process_time()
        tool.tell(handle, cost, duration)
        cpu += time.process_time() - t0
    return {"finished": finished, "cpu_per_trial_s": cpu / max(1, n), "asked": n}


def _simulate_optuna(problem: Problem, seed: int, workers: int, end: float, unit: float) -> dict[str, Any]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    top, bottom = int(problem.max_budget), math.ceil(problem.min_budget)
    steps = list(range(bottom, top + 1))
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed, multivariate=True),
                                pruner=optuna.pruners.HyperbandPruner(min_resource=bottom, max_resource=top,
                                                                      reduction_factor=3))
    distributions = optuna_distributions(problem.space(seed))
    # (time, n, step, trial, curve, start)
    events: list[tuple[float, int, int, Any, list[tuple[float, float]], float]] = []
    finished: list[tuple[float, float, float]] = []
    cpu, n, now, busy = 0.0, 0, 0.0, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while True:
            while busy < workers and now < end:
                t0 = time.process_time()
                trial = study.ask(distributions)
                cpu += time.process_time() - t0
                curve = problem.curve(trial.params, steps)
                heapq.heappush(events, (now + curve[0][1], n, 0, trial, curve, now))
                n += 1
                busy += 1
            if not events:
                break
            now, k, i, trial, curve, start = heapq.heappop(events)
            if now > end:
                break
            cost = curve[i][0]
            t0 = time.process_time()
            if i + 1 == len(steps):
                study.tell(trial, cost)
                finished.append((now / unit, float(steps[i]), cost))
                busy -= 1
            else:
                trial.report(cost, steps[i])
                if trial.should_prune():
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                    finished.append((now / unit, float(steps[i]), cost))
                    busy -= 1
                else:
                    heapq.heappush(events, (start + curve[i + 1][1], k, i + 1, trial, curve, start))
            cpu += time.process_time() - t0
    return {"finished": finished, "cpu_per_trial_s": cpu / max(1, n), "asked": n}


# -- cache and table --------------------------------------------------------------------------------

def load_cache(path: Path) -> dict[tuple[str, str, int, int, float], dict[str, Any]]:
    runs: dict[tuple[str, str, int, int, float], dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                runs[(r["tool"], r["problem"], r["seed"], r["workers"], r["horizon"])] = r
    return runs


def best_at_max(run: dict[str, Any], max_budget: float, t: float) -> float:
    """The best cost finished at max_budget by time t (inf: none yet)."""
    return min((c for when, b, c in run["finished"] if when <= t and b >= max_budget - 1e-9), default=math.inf)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def _time_to(run: dict[str, Any], max_budget: float, target: float) -> float:
    for when, b, c in run["finished"]:
        if b >= max_budget - 1e-9 and c <= target:
            return when
    return math.inf


def table(runs: dict, tools: list[str], problems: list[str], seeds: int, workers: int, horizon: float) -> str:
    lines = [f"Median regret of the best configuration finished at max_budget, {seeds} seeds, {workers} workers, "
             f"at {', '.join(f'{f:g}' for f in FRACTIONS)} of {horizon:g} time units (a unit: one trial at "
             "max_budget). LCBench: regret against the best cost any run reached.", "",
             "| problem | " + " | ".join(tools) + " | ours at the end | time to SMAC3 MF's final median, "
             "ours / SMAC3 |",
             "|---|" + "---|" * (len(tools) + 2)]
    cpu: dict[str, list[float]] = {t: [] for t in tools}
    for p in problems:
        problem = PROBLEMS[p]
        mine = [r for (t, q, s, w, h), r in runs.items() if q == p and w == workers and h == horizon]
        if problem.optimum is not None:
            floor = problem.optimum
        else:
            floor = min((best_at_max(r, problem.max_budget, horizon) for r in mine), default=math.nan)
        cells, finals = [], {}
        for tool in tools:
            got = [runs[(tool, p, s, workers, horizon)] for s in range(seeds) if (tool, p, s, workers, horizon) in runs]
            cpu[tool] += [r["cpu_per_trial_s"] for r in got]
            if len(got) < seeds:
                cells.append(f"({len(got)} of {seeds} seeds)")
                continue
            medians = [_median([best_at_max(r, problem.max_budget, f * horizon) - floor for r in got])
                       for f in FRACTIONS]
            finals[tool] = got
            cells.append(" / ".join(f"{m:.3g}" for m in medians))
        end = {t: _median([best_at_max(r, problem.max_budget, horizon) - floor for r in got])
               for t, got in finals.items()}
        peers = {t: v for t, v in end.items() if t in PEERS}
        verdict = "–"
        if "ours" in end and peers:
            best = min(peers, key=lambda t: peers[t])
            verdict = (f"ahead (next: {best})" if end["ours"] < peers[best] else
                       f"tied with {best}" if end["ours"] == peers[best] else f"behind {best}")
        ratio = "–"
        if "ours" in finals and "smac3-mf" in finals:
            target = _median([best_at_max(r, problem.max_budget, horizon) for r in finals["smac3-mf"]])
            ours_t = _median([_time_to(r, problem.max_budget, target) for r in finals["ours"]])
            smac_t = _median([_time_to(r, problem.max_budget, target) for r in finals["smac3-mf"]])
            ratio = f"{ours_t:.1f} / {smac_t:.1f} = {ours_t / smac_t:.2f}" if math.isfinite(ours_t) and smac_t > 0 \
                else f"{ours_t} / {smac_t}"
        lines.append(f"| {p} | " + " | ".join(cells) + f" | {verdict} | {ratio} |")
    lines += ["", "Optimizer CPU per trial (median over runs): " + ", ".join(
        f"{t} {_median(cpu[t]) * 1e3:.1f} ms" for t in tools if cpu[t])]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", default="mfh3-good,mfh3-bad,mfh6-good,mfh6-bad")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--horizon", type=float, default=30.0, help="time units (one unit: a trial at max_budget)")
    parser.add_argument("--lcbench", default=str(LCBench.data), help="the LCBench surrogate's folder")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "multi_fidelity.jsonl"))
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--table", action="store_true")
    args = parser.parse_args()
    LCBench.data = Path(args.lcbench)
    problems = [p for p in args.problems.split(",") if p]
    tools = [t for t in args.tools.split(",") if t]
    bad = [p for p in problems if p not in PROBLEMS] + [t for t in tools if t not in TOOLS]
    if bad:
        parser.error(f"unknown: {', '.join(bad)}; problems: {', '.join(PROBLEMS)}; tools: {', '.join(TOOLS)}")
    out = Path(args.out)
    if not args.table:
        out.parent.mkdir(parents=True, exist_ok=True)
        for seed in range(args.seeds):
            for problem in problems:
                for tool in tools:
                    key = (tool, problem, seed, args.workers, args.horizon)
                    if key in load_cache(out) and not args.fresh:
                        continue
                    t0 = time.perf_counter()
                    run = simulate(tool, PROBLEMS[problem], seed, args.workers, args.horizon)
                    record = {"tool": tool, "problem": problem, "seed": seed, "workers": args.workers,
                              "horizon": args.horizon, "wall_s": time.perf_counter() - t0,
                              "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), **run}
                    with out.open("a") as fh:
                        fh.write(json.dumps(record) + "\n")
                    best = best_at_max(record, PROBLEMS[problem].max_budget, args.horizon)
                    print(f"done {tool} {problem} seed {seed}: {len(run['finished'])} trials, best at max {best:.4g}, "
                          f"{record['wall_s']:.0f} s", file=sys.stderr, flush=True)
    print(table(load_cache(out), tools, problems, args.seeds, args.workers, args.horizon))


if __name__ == "__main__":
    main()

