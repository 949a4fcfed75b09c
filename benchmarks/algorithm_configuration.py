"""Algorithm configuration (issue 16): minisat's runtime on two families of SAT formulas,
configured by ours, SMAC3 2.4.1's AlgorithmConfigurationFacade with adaptive capping, and
irace 3.5 (Debian's r-cran-irace), with the same space, cutoff and CPU budget; each tool's final
configuration is then run on the family's 50 test formulas (test PAR10).

    python benchmarks/algorithm_configuration.py --families uf,flat --seeds 3 --workers 1,8 \\
        --budget 300 --cutoff 5 --cache /tmp/bench/ac.json --table

Every run of minisat is real; its runtime is its CPU time (user + system), which a loaded
machine does not distort. ours and SMAC3 run through their ask/tell interfaces in a simulated
clock of W workers: a trial occupies a worker for its measured runtime, so the order in which
results come back is that of W real workers, without W real cores. Capping in flight is
simulated exactly: a running trial whose cap ours lowers ends at the lower cap if its measured
runtime passes it. irace runs for real (`parallel = W`, `maxTime` = the budget), calling minisat
through a target runner that reports the same CPU time. The budget is the target's CPU seconds
summed over runs (irace's maxTime; SMAC2's tunerTimeout counts the same), not a run count, so
that what capping saves buys more runs.

Also reported: test PAR10 of minisat's default, the target CPU per configuration evaluated with
and without our capping (`ours-nocap`; `random` and `random-nocap` race the same random
configurations in the same order, so that their difference is capping's alone), and the
configurator's own CPU per trial.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import importlib.util
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mpismac.execution import procs  # noqa: E402

EXAMPLE = REPO / "examples" / "minisat"
SWITCHES = ("luby", "rnd-init", "pre", "elim")
PAR = 10.0
POLL_S = 0.005
IRACE = shutil.which("irace") or "/usr/lib/R/site-library/irace/bin/irace"  # Debian's r-cran-irace


def _generator():
    spec = importlib.util.spec_from_file_location("minisat_generate", EXAMPLE / "generate.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def make_instances(folder: Path, n: int) -> dict[str, dict[str, list[str]]]:
    """family -> split -> absolute paths of its formulas, generated once into `folder`."""
    if not (folder / "instances" / "features.csv").exists():
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("generate.py",):
            shutil.copy(EXAMPLE / name, folder / name)
        subprocess.run([sys.executable, str(folder / "generate.py"), "--n", str(n)], check=True)
    out: dict[str, dict[str, list[str]]] = {}
    for family in ("uf", "flat"):
        for split in ("train", "test"):
            names = (folder / "instances" / f"{family}-{split}.txt").read_text().split()
            out.setdefault(family, {})[split] = [str(folder / name) for name in names]
    return out


def features(folder: Path) -> dict[str, list[float]]:
    rows = (folder / "instances" / "features.csv").read_text().splitlines()[1:]
    return {str(folder / r.split(",")[0]): [float(v) for v in r.split(",")[1:]] for r in rows}


def options_of(config: dict[str, Any]) -> list[str]:
    """minisat's command-line options for a configuration of examples/minisat/minisat.pcs."""
    out = []
    for name, value in sorted(config.items()):
        if name in SWITCHES:
            out.append(f"-{name}" if value == "on" else f"-no-{name}")
        else:
            out.append(f"-{name}={value}")
    return out


class Solver:
    """Runs minisat and remembers what it saw: a (options, instance, seed) run known to take r
    seconds, or known to take more than b, answers a later run under a cap without running."""

    def __init__(self, cutoff: float, cache: dict[str, list[float]] | None = None):
        self.cutoff = cutoff
        self.cache = cache if cache is not None else {}
        self.spent_running = 0.0  # CPU seconds minisat really ran (the cache saves the rest)

    def run(self, options: list[str], instance: str, seed: int, cap: float | None = None) -> tuple[bool, float]:
        """(solved within the cap, CPU seconds used up to the cap)."""
        cap = self.cutoff if cap is None else min(cap, self.cutoff)
        key = json.dumps([options, instance, seed])
        known = self.cache.get(key)  # [runtime, 1] complete, or [lower bound, 0]
        if known is not None and (known[1] or known[0] >= cap):
            return (bool(known[1]) and known[0] < cap), min(known[0], cap)
        solved, used = self._run(options, instance, seed, cap)
        self.spent_running += used
        self.cache[key] = [used, 1] if solved else [max(used, cap), 0]
        return solved, min(used, cap)

    def _run(self, options: list[str], instance: str, seed: int, cap: float) -> tuple[bool, float]:
        argv = ["minisat", "-verb=0", f"-cpu-lim={math.ceil(cap) + 1}", f"-rnd-seed={seed + 1}", *options, instance]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                used = usage.ru_utime + usage.ru_stime
                return proc.returncode in (10, 20) and used < cap, used
            if procs.cpu_seconds(proc.pid) >= cap:
                os.kill(proc.pid, signal.SIGKILL)  # not proc.kill(): its poll() may reap the child first
                _, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = os.waitstatus_to_exitcode(status)
                return False, max(cap, usage.ru_utime + usage.ru_stime)
            time.sleep(POLL_S)

    def par(self, options: list[str], instances: list[str], seed: int = 0) -> tuple[float, int]:
        """PAR10 over instances, and the timeouts."""
        costs, timeouts = [], 0
        for instance in instances:
            solved, used = self.run(options, instance, seed)
            costs.append(used if solved else PAR * self.cutoff)
            timeouts += not solved
        return statistics.fmean(costs), timeouts


# -- ask/tell tools in a simulated clock ------------------------------------------------------------

def _space():
    from mpismac.space import load_configspace

    return load_configspace(EXAMPLE / "minisat.pcs", EXAMPLE)


class Ours:
    facade = "algorithm_configuration"

    def __init__(self, train: list[str], feats: dict[str, list[float]], cutoff: float, seed: int, capping: bool):
        from mpismac import Optimizer, Scenario

        self.opt = Optimizer(Scenario(configspace=_space(), facade=self.facade, instances=train,
                                      instance_features={i: feats[i] for i in train}, run_objective="runtime",
                                      runtime_cutoff=cutoff, deterministic=True, n_trials=10**7, seed=seed,
                                      adaptive_capping=capping))
        self.cutoff = cutoff

    def ask(self) -> tuple[Any, dict[str, Any], str, int, float]:
        info = self.opt.ask()
        return info, dict(info.config), str(info.instance), info.seed, float(info.cutoff or self.cutoff)

    def tell(self, handle: Any, solved: bool, used: float, cap: float) -> None:
        from mpismac.trial import Status, TrialValue

        if solved:
            value = TrialValue((used,), Status.SUCCESS, additional_info={"runtime": used})
        elif cap < self.cutoff:
            value = TrialValue((used,), Status.CAPPED, additional_info={"runtime": used})
        else:
            value = TrialValue((PAR * self.cutoff,), Status.TIMEOUT, additional_info={"runtime": used})
        self.opt.tell(handle, value)

    def recaps(self, handle: Any) -> list[tuple[int, float]]:
        return self.opt.recaps(handle.config_id)

    def incumbent(self) -> dict[str, Any] | None:
        inc = self.opt.incumbent
        return None if inc is None else dict(inc.config)


class Random(Ours):
    """Our racing and capping on random configurations: the same configurations in the same order
    with capping on and off, so that the difference in CPU per configuration is capping's alone."""

    facade = "random"


def _never(config: Any, instance: str, seed: int = 0, cutoff: float | None = None) -> float:
    raise RuntimeError("ask/tell only")


class Smac3:
    def __init__(self, train: list[str], feats: dict[str, list[float]], cutoff: float, seed: int, capping: bool):
        from smac import AlgorithmConfigurationFacade
        from smac import Scenario as SmacScenario

        self._tmp = tempfile.TemporaryDirectory()
        scenario = SmacScenario(_space(), deterministic=True, n_trials=10**7, seed=seed, instances=train,
                                instance_features={i: feats[i] for i in train}, adaptive_capping=capping,
                                runtime_cutoff=int(math.ceil(cutoff)), output_directory=Path(self._tmp.name))
        # SMAC3 2.4's default PCA of the instance features breaks its marginalized prediction (SMAC3
        # issue 1323, fixed in a pull request not released): the model without PCA, as a user would
        model = AlgorithmConfigurationFacade.get_model(scenario, pca_components=None)  # type: ignore[arg-type]
        self.facade = AlgorithmConfigurationFacade(scenario, _never, model=model, overwrite=True, logging_level=40)
        self.cutoff = cutoff

    def ask(self) -> tuple[Any, dict[str, Any], str, int, float]:
        info = self.facade.ask()
        cap = (info.additional_info or {}).get("cutoff", self.cutoff)
        return info, dict(info.config), str(info.instance), int(info.seed or 0), float(max(0.0, cap))

    def tell(self, handle: Any, solved: bool, used: float, cap: float) -> None:
        from smac.runhistory.dataclasses import TrialValue
        from smac.runhistory.enumerations import StatusType

        if solved:
            value = TrialValue(cost=used, time=used)
        elif cap < self.cutoff:  # stopped at SMAC3's cap: its cost so far, as its capping example returns
            value = TrialValue(cost=used, time=used, status=StatusType.TIMEOUT)
        else:
            value = TrialValue(cost=PAR * self.cutoff, time=used, status=StatusType.TIMEOUT)
        self.facade.tell(handle, value)

    def recaps(self, handle: Any) -> list[tuple[int, float]]:
        return []

    def incumbent(self) -> dict[str, Any] | None:
        inc = self.facade.intensifier.get_incumbent()
        return None if inc is None else dict(inc)


TOOLS = {"ours": (Ours, True), "ours-nocap": (Ours, False), "smac3": (Smac3, True),
         "random": (Random, True), "random-nocap": (Random, False)}


def simulate(tool_name: str, solver: Solver, train: list[str], feats: dict[str, list[float]], seed: int,
             workers: int, budget: float, max_trials: int, max_tool_cpu: float) -> dict[str, Any]:
    """Run a tool until the target CPU it spent reaches `budget` (or it asked `max_trials`
    trials: SMAC3 hands out many trials with a cap of 0, which cost no target time but its own;
    or its own CPU passed `max_tool_cpu`: SMAC3's marginalized predictions, one joblib call per
    configuration, grow to seconds per ask);
    its final configuration, the CPU it spent, the configurations it evaluated and its own CPU
    per trial."""
    cls, capping = TOOLS[tool_name]
    tool = cls(train, feats, solver.cutoff, seed, capping)
    clock, spent, cpu, asked, order, zero_caps = 0.0, 0.0, 0.0, 0, 0, 0
    running: list[list[Any]] = []  # heap of [end, order, handle, solved, used, cap, start, full_used]
    configs: set[str] = set()
    while True:
        while len(running) < workers and spent < budget and asked < max_trials and cpu < max_tool_cpu:
            t0 = time.process_time()
            handle, config, instance, seed_, cap = tool.ask()
            cpu += time.process_time() - t0
            asked += 1
            options = options_of(config)
            configs.add(json.dumps(options))
            solved, used = solver.run(options, instance, seed_, cap) if cap > 0 else (False, 0.0)
            zero_caps += cap <= 0
            spent += used
            heapq.heappush(running, [clock + used, order, handle, solved, used, cap, clock])
            order += 1
        if not running:
            break
        end, _, handle, solved, used, cap, start = heapq.heappop(running)
        clock = end
        t0 = time.process_time()
        tool.tell(handle, solved, used, cap)
        recaps = tool.recaps(handle)
        cpu += time.process_time() - t0
        for trial_id, new_cap in recaps:  # a lowered cap ends a running trial early if it runs past it
            for entry in running:
                if getattr(entry[2], "trial_id", None) == trial_id and entry[4] > new_cap:
                    stop = max(clock, entry[6] + new_cap)
                    spent -= entry[4] - (stop - entry[6])
                    entry[0], entry[3], entry[4], entry[5] = stop, False, stop - entry[6], new_cap
            heapq.heapify(running)
    incumbent = tool.incumbent()
    return {"incumbent": incumbent, "spent": spent, "configs": len(configs), "trials": asked, "tool_cpu_s": cpu,
            "zero_caps": zero_caps,
            "cpu_per_trial_s": cpu / max(1, asked), "clock": clock}


# -- irace, for real ----------------------------------------------------------------------------------

RUNNER = '''#!{python}
"""irace's target runner: ID INSTANCE_ID SEED INSTANCE BOUND OPTIONS... -> cost and CPU seconds.
Self-contained (no imports beyond the standard library): irace starts one per run."""
import math, os, signal, subprocess, sys, time
_, _, seed, instance, bound, *options = sys.argv[1:]
cap = min(float(bound), {cutoff!r})
proc = subprocess.Popen(["minisat", "-verb=0", f"-cpu-lim={{math.ceil(cap) + 1}}", f"-rnd-seed={{int(seed) + 1}}",
                         *options, instance], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
tick = os.sysconf("SC_CLK_TCK")
while True:
    pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
    if pid:
        used = usage.ru_utime + usage.ru_stime
        solved = os.waitstatus_to_exitcode(status) in (10, 20) and used < cap
        break
    with open(f"/proc/{{proc.pid}}/stat", "rb") as f:
        if sum(int(v) for v in f.read().rsplit(b")", 1)[1].split()[11:15]) / tick >= cap:
            os.kill(proc.pid, signal.SIGKILL)  # not proc.kill(): its poll() may reap the child first
            _, _, usage = os.wait4(proc.pid, 0)
            used, solved = max(cap, usage.ru_utime + usage.ru_stime), False
            break
    time.sleep({poll!r})
print(used if solved else ({par!r} * {cutoff!r} if cap >= {cutoff!r} else cap), used)
'''


def irace_parameters() -> str:
    """examples/minisat/minisat.pcs in irace's format: name, switch, type, range."""
    space = _space()
    lines = []
    for hp in space.values():
        name = hp.name.replace("-", "_")
        if hp.name in SWITCHES:
            lines.append(f'{name} "-" c (no-{hp.name}, {hp.name})')
        elif hasattr(hp, "choices"):
            lines.append(f'{name} "-{hp.name}=" c ({", ".join(str(c) for c in hp.choices)})')
        else:
            kind = "i" if "Integer" in type(hp).__name__ else "r"
            log = ",log" if hp.log else ""
            lines.append(f'{name} "-{hp.name}=" {kind}{log} ({hp.lower}, {hp.upper})')
    return "\n".join(lines) + "\n"


def irace_default() -> str:
    space = _space()
    names = [hp.name.replace("-", "_") for hp in space.values()]
    default = space.get_default_configuration()
    values = [("no-" + str(hp.name) if default[hp.name] == "off" else hp.name) if hp.name in SWITCHES
              else str(default[hp.name]) for hp in space.values()]
    return " ".join(names) + "\n" + " ".join(values) + "\n"


def run_irace(train: list[str], cutoff: float, seed: int, workers: int, budget: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "parameters.txt").write_text(irace_parameters())
        (folder / "default.txt").write_text(irace_default())
        (folder / "train.txt").write_text("\n".join(train) + "\n")
        runner = folder / "runner.py"
        runner.write_text(RUNNER.format(python=sys.executable, cutoff=cutoff, poll=POLL_S, par=PAR))
        runner.chmod(0o755)
        (folder / "scenario.txt").write_text("\n".join([
            'parameterFile = "parameters.txt"', 'trainInstancesFile = "train.txt"', 'targetRunner = "./runner.py"',
            'configurationsFile = "default.txt"', 'trainInstancesDir = ""', f"maxTime = {budget:g}", "capping = 1",
            "elitist = 1",
            f"boundMax = {cutoff:g}", f"boundPar = {PAR:g}", f"parallel = {workers}", f"seed = {seed + 1}",
            "deterministic = 1", "digits = 4", f'execDir = "{folder}"']) + "\n")
        t0 = time.monotonic()
        proc = subprocess.run([IRACE, "--scenario", str(folder / "scenario.txt")], cwd=folder,
                              capture_output=True, text=True)
        out = proc.stdout
        (Path(tempfile.gettempdir()) / "irace-last.log").write_text(out)
        if proc.returncode != 0 or "as commandlines" not in out:
            raise RuntimeError(f"irace failed ({proc.returncode}): {out[-2000:]}{proc.stderr[-2000:]}")
        block = out.split("as commandlines", 1)[1].splitlines()[1:]
        best = next(line for line in block if line.strip())
        options = best.split()[1:]
        used = re.search(r"# Total CPU user time: ([\d.]+)", out)
        experiments = re.search(r"# nbExperiments:\s*(\d+)", out) or re.search(r"experiments:\s*(\d+)", out)
        return {"options": options, "spent": None, "trials": int(experiments[1]) if experiments else None,
                "irace_cpu_s": float(used[1]) if used else None, "wall_s": time.monotonic() - t0}


# -- the benchmark ---------------------------------------------------------------------------------------

def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {"runs": {}, "solver": {}}


def save(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default="uf,flat")
    parser.add_argument("--tools", default="ours,ours-nocap,smac3,irace")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only-seed", type=int, help="run this seed alone (several processes, one cache each)")
    parser.add_argument("--merge", type=Path, nargs="*", default=[], help="more caches to read for --table")
    parser.add_argument("--workers", default="1,8")
    parser.add_argument("--budget", type=float, default=300.0, help="target CPU seconds per configuration run")
    parser.add_argument("--cutoff", type=float, default=5.0)
    parser.add_argument("--max-trials", type=int, default=2000, help="trials a tool may ask for at most")
    parser.add_argument("--max-tool-cpu", type=float, default=600.0, help="CPU seconds a tool may take itself")
    parser.add_argument("--n", type=int, default=50, help="formulas per family and split")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/bench/ac.json"))
    parser.add_argument("--table", action="store_true", help="print the table of what the cache holds")
    parser.add_argument("--no-run", action="store_true", help="run nothing: with --table, only the table")
    parser.add_argument("--retest", type=Path, help="run every final configuration of the cache (and --merge) "
                        "again on the test set, interleaved, and write the table here")
    args = parser.parse_args()
    folder = args.cache.parent / "ac-instances"
    sets = make_instances(folder, args.n)
    feats = features(folder)
    data = load(args.cache)
    solver = Solver(args.cutoff, data["solver"])
    families, tools = args.families.split(","), args.tools.split(",")
    workers = [int(w) for w in args.workers.split(",")]
    default = options_of(dict(_space().get_default_configuration()))
    for family in [] if args.no_run else families:
        key = f"default/{family}"
        if key not in data["runs"]:
            data["runs"][key] = {"test": solver.par(default, sets[family]["test"])}
            save(args.cache, data)
        for w in workers:
            seeds = range(args.seeds) if args.only_seed is None else [args.only_seed]
            for seed in seeds:  # every tool on a seed before the next seed: partial tables compare
                for tool in tools:
                    key = f"{tool}/{family}/{w}/{seed}/{args.budget:g}/{args.cutoff:g}"
                    if key in data["runs"]:
                        continue
                    t0 = time.monotonic()
                    if tool == "irace":
                        run = run_irace(sets[family]["train"], args.cutoff, seed, w, args.budget)
                        options = run["options"]
                    else:
                        run = simulate(tool, solver, sets[family]["train"], feats, seed, w, args.budget,
                                       args.max_trials, args.max_tool_cpu)
                        options = options_of(run.pop("incumbent") or {}) if run.get("incumbent") is not None \
                            else default
                    run["options"] = options
                    # random configurations measure capping, not quality: no test set
                    run["test"] = None if tool.startswith("random") else solver.par(options, sets[family]["test"])
                    run["seconds"] = time.monotonic() - t0
                    data["runs"][key] = run
                    save(args.cache, data)
                    tested = f"test PAR10 {run['test'][0]:.3f} ({run['test'][1]} timeouts)" if run["test"] else "ran"
                    print(f"{key}: {tested} in {run['seconds']:.0f} s", flush=True)
    if args.table or args.retest:
        for other in args.merge:
            data["runs"] = {**load(other)["runs"], **data["runs"]}
    if args.table:
        print(table(data, families, tools, workers, args.seeds, args.budget, args.cutoff))
    if args.retest:
        results = retest(data, sets, families, default, args.cutoff)
        args.retest.write_text(json.dumps(results, indent=1) + "\n")
        print(retest_table(results, families, tools, workers, args.seeds, args.budget, args.cutoff))


def retest(data: dict[str, Any], sets: dict[str, dict[str, list[str]]], families: list[str], default: list[str],
           cutoff: float) -> dict[str, list[float]]:
    """Test PAR10 and timeouts of minisat's default and of every final configuration, measured
    again in one process: formula by formula, every configuration in turn (in a rotating order),
    so that the machine's load weighs on all of them alike, as it did not on runs made apart."""
    out: dict[str, list[float]] = {}
    for family in families:
        finals = {f"default/{family}": default}
        finals.update({k: r["options"] for k, r in sorted(data["runs"].items())
                       if k.split("/")[1:2] == [family] and r.get("options") and r.get("test")})
        labels, solver = list(finals), Solver(cutoff)
        costs: dict[str, list[float]] = {k: [] for k in labels}
        for n, instance in enumerate(sets[family]["test"]):
            for label in labels[n % len(labels):] + labels[: n % len(labels)]:
                solved, used = solver.run(finals[label], instance, 0)
                costs[label].append(used if solved else PAR * cutoff)
        out.update({k: [statistics.fmean(v), sum(c >= PAR * cutoff for c in v)] for k, v in costs.items()})
    return out


def retest_table(results: dict[str, list[float]], families: list[str], tools: list[str], workers: list[int],
                 seeds: int, budget: float, cutoff: float) -> str:
    lines = ["| family | workers | tool | " + " | ".join(f"seed {s}" for s in range(seeds)) +
             " | median | median / default |", "|---|---|---|" + "---:|" * (seeds + 2)]
    for family in families:
        base = results.get(f"default/{family}", [math.nan])[0]
        lines.append(f"| {family} | | default | " + " | ".join(f"{base:.3f}" for _ in range(seeds)) +
                     f" | {base:.3f} | 1.00 |")
        for w in workers:
            for tool in tools:
                got = [results.get(f"{tool}/{family}/{w}/{s}/{budget:g}/{cutoff:g}") for s in range(seeds)]
                if not any(got):
                    continue
                cells = [f"{g[0]:.3f}" + (f" ({g[1]:.0f} timeouts)" if g[1] else "") if g else "-" for g in got]
                median = statistics.median(g[0] for g in got if g)
                lines.append(f"| {family} | {w} | {tool} | " + " | ".join(cells) +
                             f" | {median:.3f} | {median / base:.2f} |")
    return "\n".join(lines)


def table(data: dict[str, Any], families: list[str], tools: list[str], workers: list[int], seeds: int,
          budget: float, cutoff: float) -> str:
    lines = [f"Test PAR10 (s), median over {seeds} seeds; budget {budget:g} CPU s of minisat, cutoff {cutoff:g} s",
             "", "| family | workers | default | " + " | ".join(tools) + " |",
             "|---|---|---|" + "---|" * len(tools)]
    extra = []
    for family in families:
        base = data["runs"].get(f"default/{family}", {}).get("test", [math.nan])[0]
        for w in workers:
            cells = []
            for tool in tools:
                runs = [data["runs"].get(f"{tool}/{family}/{w}/{s}/{budget:g}/{cutoff:g}") for s in range(seeds)]
                got = [r for r in runs if r]
                tested = [r["test"][0] for r in got if r.get("test")]
                cells.append(f"{statistics.median(tested):.3f}" if tested else "-")
                with contextlib.suppress(KeyError, statistics.StatisticsError):
                    if tool != "irace" and got:
                        extra.append(f"| {family} | {w} | {tool} | {statistics.median(r['trials'] for r in got):.0f} | "
                                     f"{statistics.median(r['configs'] for r in got):.0f} | "
                                     f"{statistics.median(r['spent'] / r['configs'] for r in got):.2f} | "
                                     f"{statistics.median(r['cpu_per_trial_s'] for r in got) * 1e3:.1f} |")
            lines.append(f"| {family} | {w} | {base:.3f} | " + " | ".join(cells) + " |")
    lines += ["", "| family | workers | tool | trials | configurations | minisat CPU s per configuration | "
                  "configurator CPU ms per trial |", "|---|---|---|---|---|---|---|", *extra]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
