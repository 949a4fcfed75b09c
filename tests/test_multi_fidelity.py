"""Facade multi_fidelity: asynchronous successive halving over Hyperband's brackets. Promotions
as soon as a configuration is in a rung's best 1/eta, never from a running trial, never twice;
the incumbent at max_budget; every runtime; the target's checkpoint."""

from __future__ import annotations

import collections
import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from ConfigSpace import ConfigurationSpace

from mpismac import Optimizer, Scenario
from mpismac.optimizer.hyperband import Ladder, Step, bracket_weights
from mpismac.runhistory import RunHistory
from mpismac.runhistory.folder import load_run
from mpismac.runhistory.merge import load_any
from mpismac.runhistory.records import TrialStarted
from mpismac.runhistory.state import RunState
from mpismac.scenario import budget_levels
from mpismac.trial import Checkpoint, Status

from .conftest import DATA, REPO, mpirun, needs_mpiexec, run_cli

BUDGETS = (1.0, 3.0, 9.0, 27.0)


def _space() -> ConfigurationSpace:
    return ConfigurationSpace({"x": (0.0, 1.0), "y": (0.0, 1.0)})


def _cost(config, budget: float) -> float:
    """Better with budget; the ranking of configurations changes a little between budgets."""
    x, y = config["x"], config["y"]
    return (x - 0.3) ** 2 + (y - 0.6) ** 2 + 0.05 * math.sin(9 * x) / budget + 2.0 / budget


def _scenario(**keys) -> Scenario:
    keys = {"facade": "multi_fidelity", "min_budget": 1, "max_budget": 27, "deterministic": True, "n_trials": 80,
            "seed": 3, **keys}
    return Scenario(_space(), **keys)


# -- the ladder -------------------------------------------------------------------------------------

@pytest.mark.fast
def test_budget_levels_and_hyperband_s_bracket_shares():
    assert budget_levels(1, 27, 3) == BUDGETS
    assert budget_levels(1, 100, 3)[-1] == 100 and budget_levels(1, 100, 3)[0] >= 1
    assert budget_levels(2, 52, 2) == (3.25, 6.5, 13.0, 26.0, 52.0)
    shares = bracket_weights(4, 4, 3)  # Hyperband starts 27, 12, 6 and 4 configurations per iteration
    assert shares == pytest.approx([27 / 49, 12 / 49, 6 / 49, 4 / 49])
    assert bracket_weights(4, 1, 3) == pytest.approx([1.0])  # one bracket: plain ASHA


@pytest.mark.fast
def test_a_configuration_is_promoted_once_it_is_in_the_best_third_of_what_finished():
    ladder = Ladder(BUDGETS, 3, None, 0)
    for c in range(5):
        ladder.start(c, 0)
    ladder.tell(0, 0, 5.0, True)
    ladder.tell(1, 0, 3.0, True)
    assert ladder.promotion() is None  # 2 results: the best third is empty
    ladder.tell(2, 0, 4.0, True)
    assert ladder.promotion() == Step(1, 1)  # 3 results: the best one goes up, no waiting for the rung to fill
    ladder.start(1, 1)
    assert ladder.promotion() is None  # never twice; configurations 3 and 4 still run: no result, no promotion
    ladder.tell(3, 0, 1.0, True)  # a running trial that finishes best is promoted then
    assert ladder.promotion() == Step(3, 1)
    ladder.start(3, 1)
    ladder.tell(4, 0, math.inf, False)
    ladder.tell(5, 0, 0.5, True)  # not started here (a shared run): counted, never promoted by this optimizer
    assert ladder.promotion() is None and ladder.rung_sizes()[0] == 6
    for c, cost in ((1, 2.0), (3, 1.0), (6, 3.0)):
        ladder.tell(c, 1, cost, True)
    ladder.start(6, 1)
    assert ladder.promotion() == Step(3, 2)  # higher rungs first
    assert ladder.reached[3] == 3.0 and 4 not in ladder.reached  # a failure is no checkpoint


@pytest.mark.fast
def test_brackets_shift_to_higher_budgets_when_the_low_ones_rank_configurations_wrongly():
    def ladder(agree: bool) -> Ladder:
        lad = Ladder(BUDGETS, 3, None, 0)
        for c in range(12):  # rung 1 ranks them as the top rung does; rung 0 as it does or backwards
            lad.tell(c, 0, float(c if agree else -c), True)
            lad.tell(c, 1, float(c), True)
            lad.tell(c, 3, float(c), True)
        return lad

    hyperband = bracket_weights(4, 4, 3)
    assert Ladder(BUDGETS, 3, None, 0).bracket_shares() == pytest.approx(hyperband)  # no pairs yet: Hyperband
    good, bad = ladder(True), ladder(False)
    assert good.trust(0) == pytest.approx(1.0) and good.bracket_shares() == pytest.approx(hyperband)
    assert bad.trust(0) == pytest.approx(4 / 16)  # tau -1 counts as 0, shrunk toward 1 by 4 pairs of prior
    shares = bad.bracket_shares()
    assert shares[0] < hyperband[0] / 2 and shares[3] > hyperband[3] * 1.5  # starts move up
    bad.tell(0, 3, 99.0, True)  # the race's further pairs at the top rung are not the ladder's
    assert bad.results[3][0] == 0.0
    plain = ladder(False)
    plain.learned = False  # brackets: hyperband
    assert plain.bracket_shares() == pytest.approx(hyperband)


# -- the optimizer ----------------------------------------------------------------------------------

def _run(opt: Optimizer, n: int, batch: int = 1) -> list:
    """Ask `batch` at a time (trials pending together), tell them in reverse order."""
    infos = []
    while len(infos) < n:
        asked = [opt.ask() for _ in range(min(batch, n - len(infos)))]
        for info in reversed(asked):
            opt.tell(info, _cost(info.config, info.budget))
        infos.extend(asked)
    return infos


@pytest.mark.fast
@pytest.mark.parametrize("batch", [1, 6])
def test_promotions_follow_asha_s_rule_and_the_incumbent_is_the_best_at_max_budget(batch):
    opt = Optimizer(_scenario())
    seen: dict[float, dict[int, float]] = {b: {} for b in BUDGETS}  # told results per budget, when each ask came
    ran = collections.Counter()
    infos = []
    while len(infos) < 80:
        asked = [opt.ask() for _ in range(batch)]  # never waits for a rung: a trial comes every time
        for info in asked:
            ran[(info.config_id, info.budget)] += 1
            lower = [b for b in BUDGETS if b < info.budget and info.config_id in seen[b]]
            if lower:  # a promotion: from a finished result in the best third of its rung then
                rung = seen[max(lower)]
                best = sorted(rung, key=lambda c: (rung[c], c))[: len(rung) // 3]
                assert info.config_id in best
        for info in reversed(asked):
            cost = _cost(info.config, info.budget)
            opt.tell(info, cost)
            seen[info.budget][info.config_id] = cost
        infos.extend(asked)
    assert max(ran.values()) == 1  # no configuration runs twice at one budget
    assert all(seen[b] for b in BUDGETS)  # every budget used
    assert sum(1 for c, b in ran if b > 1 and (c, b / 3) in ran) >= 8  # promotions happened
    inc = opt.incumbent
    assert inc is not None and inc.cost[0] == min(seen[27.0].values())
    assert {i.budget for i in infos if i.config_id == inc.config_id} >= {27.0}


@pytest.mark.fast
def test_learned_brackets_start_fewer_configurations_at_a_budget_that_ranks_them_backwards():
    def cost(config, budget: float) -> float:  # budget 1 ranks backwards; 3 and up as 27 does
        f = (config["x"] - 0.3) ** 2 + (config["y"] - 0.6) ** 2
        return -f if budget == 1 else f + 1 / budget

    def share_started_at_1(brackets: str) -> float:
        opt = Optimizer(_scenario(brackets=brackets, n_trials=160))
        first: dict[int, float] = {}
        for _ in range(160):
            info = opt.ask()
            first.setdefault(info.config_id, info.budget)
            opt.tell(info, cost(info.config, info.budget))
        later = list(first.values())[len(first) // 2:]
        return sum(b == 1 for b in later) / len(later)

    learned, hyperband = share_started_at_1("learned"), share_started_at_1("hyperband")
    assert hyperband > 0.4 and learned < 0.6 * hyperband, (learned, hyperband)


@pytest.mark.fast
def test_a_budget_lends_the_forest_results_by_its_trust_and_local_steps_run_at_max_budget():
    opt = Optimizer(_scenario(n_trials=120))
    infos = _run(opt, 120, batch=4)
    proposer = opt._proposer
    sizes = {}
    for trust in (1.0, 0.25, 0.0):
        proposer.rung_trust = lambda rung, t=trust: t
        data = proposer.training_set(opt.runhistory, opt._observed)
        sizes[trust] = collections.Counter(np.round(data.levels * 3).astype(int).tolist())
    assert data.aim_level == 1.0 and set(sizes[0.0]) == {3}  # trust 0: the aimed-at rung alone (BOHB)
    for rung in (0, 1, 2):
        assert 0 < sizes[0.25][rung] < sizes[1.0][rung]  # sqrt(0.25): about half of each lower rung
    assert sizes[0.25][3] == sizes[1.0][3]
    local = [i for i in infos if i.origin == "local"]
    assert local and all(i.budget == 27 for i in local)


@pytest.mark.fast
def test_the_ladder_is_rebuilt_from_the_trials_on_resume():
    rh = RunHistory(_space(), ("cost",))
    opt = Optimizer(_scenario(), rh, write=RunState(rh).apply)
    _run(opt, 40, batch=4)
    pending = [opt.ask() for _ in range(5)]  # started, then cut short: they run again first, under their ids
    for info in pending:
        RunState(rh).apply(TrialStarted.of(info, time.time()))
    again = Optimizer(opt.scenario, opt.runhistory, opt.state())
    assert again._ladder.results == opt._ladder.results and again._ladder.started == opt._ladder.started
    redo = [again.ask() for _ in range(5)]
    assert [(i.trial_id, i.config_id, i.budget) for i in redo] == [(i.trial_id, i.config_id, i.budget)
                                                                  for i in pending]
    for info in redo:
        again.tell(info, _cost(info.config, info.budget))
    infos = _run(again, 35)
    pairs = [(r.config_id, r.budget) for r in again.runhistory.trials.values()]
    assert len(pairs) == len(set(pairs)) == 80 and len(infos) == 35  # nothing run twice, nothing lost


@pytest.mark.fast
def test_the_same_seed_makes_the_same_trials():
    runs = []
    for _ in range(2):
        opt = Optimizer(_scenario(seed=11))
        runs.append([(i.config_id, i.budget, tuple(i.config.values())) for i in _run(opt, 60, batch=3)])
    assert runs[0] == runs[1]


@pytest.mark.fast
def test_a_checkpoint_key_names_a_configuration_on_a_pair_in_every_run():
    a = Checkpoint.of({"x": 0.5, "y": 0.25}, None, 7, 3.0)
    assert a == Checkpoint.of({"y": 0.25, "x": 0.5}, None, 7, 3.0) and len(a.key) == 16
    assert a.key != Checkpoint.of({"x": 0.5, "y": 0.25}, None, 8, 3.0).key
    opt = Optimizer(_scenario())
    for info in _run(opt, 60):
        below = [r.budget for r in opt.runhistory.trials.values()
                 if r.config_id == info.config_id and r.budget < info.budget]
        assert info.previous_budget == (max(below) if below else None)


# -- real runs --------------------------------------------------------------------------------------

def _file(tmp_path: Path, **keys) -> Path:
    keys = {"name": "t", "output_directory": str(tmp_path / "out"), "n_trials": 40, "deterministic": "true",
            "facade": "multi_fidelity", "min_budget": 1, "max_budget": 27,
            "configspace": json.dumps({"hyperparameters": [
                {"name": "x", "type": "uniform_float", "lower": 0.0, "upper": 1.0},
                {"name": "y", "type": "uniform_float", "lower": 0.0, "upper": 1.0}]}), **keys}
    path = tmp_path / "scenario.yaml"
    path.write_text(f"target: {DATA / 'targets.py'}:epochs\n" + "".join(f"{k}: {v}\n" for k, v in keys.items()))
    (tmp_path / "state").mkdir(exist_ok=True)
    return path


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    import os

    return {**os.environ, "MF_STATE_DIR": str(tmp_path / "state"), **extra}


def _trained(tmp_path: Path) -> int:
    return sum(int(line) for line in (tmp_path / "state" / "trained.log").read_text().split())


def _checkpoints_saved_training(rh) -> None:
    """Each configuration trained once up to the largest budget it reached, not once per trial."""
    highest: dict[int, float] = {}
    for r in rh.trials.values():
        if r.status == Status.SUCCESS and not r.shared:
            highest[r.config_id] = max(highest.get(r.config_id, 0), r.budget)
    return sum(highest.values()), sum(r.budget for r in rh.trials.values() if not r.shared)


def test_a_serial_run_trains_each_configuration_once_and_reports_by_budget(tmp_path):
    proc = run_cli(str(_file(tmp_path)), "--quiet", env=_env(tmp_path), timeout=300)
    assert proc.returncode == 0, proc.stderr
    run_dir = tmp_path / "out" / "t" / "0"
    rh = load_run(run_dir).state.runhistory
    assert {r.budget for r in rh.trials.values()} == set(BUDGETS)
    once, per_trial = _checkpoints_saved_training(rh)
    assert _trained(tmp_path) == once < per_trial
    inc = rh.incumbent
    assert inc is not None and any(r.config_id == inc.config_id and r.budget == 27 for r in rh.trials.values())

    summary = json.loads(run_cli("report", str(run_dir), "--json").stdout)
    assert [b["budget"] for b in summary["budgets"]] == list(BUDGETS)
    assert sum(b["trials"] for b in summary["budgets"]) == 40
    assert "budgets" in run_cli("report", str(run_dir)).stdout
    pytest.importorskip("matplotlib", reason="the plot extra is in the test extra")
    png = tmp_path / "p.png"
    assert run_cli("report", str(run_dir), "--plot", str(png)).returncode == 0
    from matplotlib.image import imread

    assert imread(png).shape[1] > 1500  # three panels: the third is cost by budget

    out = tmp_path / "run.csv"
    assert run_cli("export", str(run_dir), "--format", "csv", "-o", str(out)).returncode == 0
    rows = list(csv.DictReader(out.open()))
    assert {float(r["budget"]) for r in rows} == set(BUDGETS)
    smac = pytest.importorskip("smac", reason="SMAC3 is in the test extra")
    from smac.runhistory import RunHistory

    smac_dir = tmp_path / "smac3"
    assert run_cli("export", str(run_dir), "--format", "smac3", "-o", str(smac_dir)).returncode == 0
    scenario = smac.Scenario.load(smac_dir)
    assert (scenario.min_budget, scenario.max_budget) == (1, 27)
    smac_rh = RunHistory()
    smac_rh.load(smac_dir / "runhistory.json", scenario.configspace)
    assert sorted(k.budget for k in smac_rh) == sorted(r.budget for r in rh.trials.values())


def test_the_mlp_example_runs_as_documented_and_continues_from_its_saved_weights(tmp_path, monkeypatch):
    """examples/mlp_digits as a user runs it, cut to 12 trials up to 9 epochs: each configuration's
    weights are saved at the largest budget it reached; and a trial given its own checkpoint
    back at the same budget trains no epoch and scores as the saved network did."""
    state = tmp_path / "state"
    proc = run_cli(str(REPO / "examples" / "mlp_digits.yaml"), "--quiet", "--set", f"output_directory={tmp_path}",
                   "--set", "n_trials=12", "--set", "max_budget=9", env={**os.environ, "MLP_STATE_DIR": str(state)},
                   timeout=300)
    assert proc.returncode == 0, proc.stderr
    rh = load_run(tmp_path / "mlp_digits" / "0").state.runhistory
    reached: dict[int, float] = {}
    for r in rh.trials.values():
        assert r.status == Status.SUCCESS and 0 <= r.cost[0] < 1
        reached[r.config_id] = max(reached.get(r.config_id, 0.0), r.budget)
    assert max(collections.Counter(r.config_id for r in rh.trials.values()).values()) >= 2  # a promotion
    saved = {p.stem: int(np.load(p)["epochs"]) for p in state.glob("*.npz")}
    assert sorted(saved.values()) == sorted(int(b) for b in reached.values())

    monkeypatch.setenv("MLP_STATE_DIR", str(tmp_path / "direct"))
    monkeypatch.syspath_prepend(str(REPO / "examples"))
    from mlp_digits import train

    config = {"width": 32, "depth": 1, "alpha": 1e-4, "learning_rate": 0.01, "batch_size": 64}
    first = train(config, 0, 3, Checkpoint("k", None))
    assert train(config, 0, 3, Checkpoint("k", 3.0)) == first  # the saved weights, restored in place
    assert train(config, 1, 3, Checkpoint("other", None)) != first  # another seed: another network


def test_a_stopped_run_resumes_without_promoting_twice_or_losing_a_trial(tmp_path):
    path = _file(tmp_path, n_trials=30)
    env = _env(tmp_path, MF_SLEEP="0.02")
    proc = subprocess.Popen([sys.executable, "-m", "mpismac", str(path), "--quiet"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    journal = tmp_path / "out" / "t" / "0" / "journal.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not journal.exists() or journal.read_text().count('"op":"end"') < 12):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 3
    before = load_run(tmp_path / "out" / "t" / "0").state.runhistory
    assert 12 <= len(before.finished()) < 30
    proc = run_cli(str(path), "--quiet", env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rh = load_run(tmp_path / "out" / "t" / "0").state.runhistory
    assert len(rh.trials) == 30 and all(r.status == Status.SUCCESS for r in rh.trials.values())
    keys = [(r.config_id, r.budget) for r in rh.trials.values()]
    assert len(keys) == len(set(keys))  # nothing promoted twice
    for trial_id, r in before.trials.items():  # what ran before kept its id, config and budget
        assert (rh.trials[trial_id].config_id, rh.trials[trial_id].budget) == (r.config_id, r.budget)
    assert {r.budget for r in rh.trials.values()} > {1.0, 3.0}


@needs_mpiexec
def test_master_worker_reproducible_trials_are_the_same_on_any_number_of_ranks(tmp_path):
    runs = []
    for ranks in (1, 4):
        out = tmp_path / f"r{ranks}"
        out.mkdir()
        path = _file(out, n_trials=40, reproducible="true", reproducible_lag=3)
        args = ["-m", "mpismac", str(path), "--quiet"]
        proc = mpirun(ranks, *args, env={"MF_STATE_DIR": str(out / "state")}) if ranks > 1 else \
            subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=180, env=_env(out))
        assert proc.returncode == 0, proc.stderr
        rh = load_run(out / "out" / "t" / "0").state.runhistory
        if ranks > 1:
            assert {r.worker for r in rh.trials.values()} == {1, 2, 3}
            once, _ = _checkpoints_saved_training(rh)
            assert _trained(out) == once  # workers continue each other's checkpoints
        runs.append([(r.trial_id, rh.configs[r.config_id], r.budget, r.cost)
                     for r in sorted(rh.trials.values(), key=lambda r: r.trial_id)])
    assert runs[0] == runs[1]


@needs_mpiexec
def test_psmac_ranks_share_their_rungs(tmp_path):
    path = _file(tmp_path, n_trials=45, mode="psmac", psmac="{exchange_interval: 0.1}")
    proc = mpirun(3, "-m", "mpismac", str(path), "--quiet", env={"MF_STATE_DIR": str(tmp_path / "state")})
    assert proc.returncode == 0, proc.stderr
    run_dir = tmp_path / "out" / "t" / "0"
    merged = load_any(run_dir).state.runhistory
    assert len(merged.trials) == 45 and {r.budget for r in merged.trials.values()} >= {1.0, 3.0, 9.0}
    for part in sorted(run_dir.glob("journal.rank*.jsonl")):
        rh = load_run(run_dir, part=part.name.split(".")[1]).state.runhistory
        assert any(r.shared and r.budget < 27 for r in rh.trials.values())  # shared runs carry their budget
        first: dict[int, bool] = {}  # config -> whether this rank first knew it from a shared run
        for r in sorted(rh.trials.values(), key=lambda r: r.trial_id):
            shared_first = first.setdefault(r.config_id, r.shared)
            assert r.shared or not shared_first  # shared runs count in the rungs; a rank promotes only its own
