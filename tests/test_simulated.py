"""The real manager over simulated workers (runtime/simulated.py): every trial dispatched, ended
once and recorded, every worker used and stopped; the figures the simulator reports are there."""

from __future__ import annotations

import pytest
from ConfigSpace import ConfigurationSpace, Float

from mpismac.runhistory.folder import load_run
from mpismac.runtime.simulated import SimulatedWorkers, run_simulated
from mpismac.scenario import Scenario


@pytest.mark.parametrize("facade,n_workers,n_trials", [("random", 64, 400), ("hpo", 16, 80)])
def test_the_real_manager_runs_a_simulated_job_to_its_budget(tmp_path, facade, n_workers, n_trials):
    cs = ConfigurationSpace({"x": Float("x", (0.0, 1.0)), "y": Float("y", (0.0, 1.0))})
    durations = iter([0.02, 0.05, 0.01] * n_trials)
    workers = SimulatedWorkers(n_workers, lambda request: next(durations),
                               lambda config: (config["x"] - 0.3) ** 2 + config["y"], scale=1.0)
    scenario = Scenario(configspace=cs, name="sim", output_directory=str(tmp_path), n_trials=n_trials,
                        facade=facade, deterministic=True)
    result, stats = run_simulated(scenario, workers, n_workers)
    assert result.stopped_by == "n_trials" and result.n_finished == n_trials
    trials = load_run(scenario.run_dir).state.runhistory.trials
    assert len(trials) == n_trials and all(r.status == 1 for r in trials.values())
    assert {r.worker for r in trials.values()} == set(range(1, n_workers + 1))  # every worker had trials
    assert len(stats["latencies"]) == n_trials - n_workers  # one per dispatch after a result
    assert 0 < stats["utilization"] <= 1 and stats["results_per_s"] > 0
    assert result.costs is not None and result.costs[0] < 0.2  # the optimizer ran: costs came back


def test_results_taken_in_one_sweep_share_one_checkpoint(tmp_path):
    """Group commit: with more results coming in than one fsync per result allows, the manager
    commits each sweep of its workers' messages once; every result is still in the journal."""
    from mpismac.runhistory.journal import read_journal

    cs = ConfigurationSpace({"x": Float("x", (0.0, 1.0))})
    workers = SimulatedWorkers(64, lambda request: 0.002, lambda config: config["x"], scale=1.0)
    scenario = Scenario(configspace=cs, name="gc", output_directory=str(tmp_path), n_trials=600, facade="random",
                        deterministic=True, checkpoint_interval=1)
    result, _ = run_simulated(scenario, workers, 64)
    records = read_journal(scenario.run_dir / "journal.jsonl").records
    ended = sum(r["op"] == "end" for r in records)
    checkpoints = sum(r["op"] == "state" for r in records)
    assert result.n_finished == ended == 600
    assert 1 <= checkpoints < ended / 2, (checkpoints, ended)
