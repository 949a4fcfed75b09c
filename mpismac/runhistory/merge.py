"""One view of a pSMAC run folder: every rank's own trials in one runhistory, for readers
(report, export, plot). Shared copies are left out: each run appears once, from its rank."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..pareto import merged_front
from ..trial import Status
from .folder import SCENARIO, LoadedRun, load_run, parts
from .runhistory import RunHistory, TrajectoryEntry
from .state import RunState


def load_any(run_dir: Path) -> LoadedRun:
    """A run folder as one run: as it is, or its pSMAC parts merged."""
    run_dir = Path(run_dir)
    names = parts(run_dir)
    return merge_parts(run_dir, names) if names else load_run(run_dir)


def merge_parts(run_dir: Path, names: list[str]) -> LoadedRun:
    """Trials renumbered by start time (`origin_rank` says which part ran them, `worker` which
    rank: in pSMAC the same, in groups a worker of that part's manager); the
    trajectory is the job's: each rank's incumbent changes that beat every earlier one."""
    loaded = {int(n[4:]): load_run(run_dir, n) for n in names}
    first = next(iter(loaded.values())).state.runhistory
    rh = RunHistory(first.configspace, first.objectives)
    jobs = loaded[min(loaded)].state.jobs
    ranks = jobs[-1].ranks if jobs else len(loaded)
    # A rank that a later job no longer had never runs its trials in flight again: left out.
    own = sorted(((rank, r) for rank, run in loaded.items() for r in run.state.runhistory.trials.values()
                  if not r.shared and (rank < ranks or r.status != Status.RUNNING)),
                 key=lambda item: (item[1].start_time, item[0], item[1].trial_id))
    ids: dict[tuple[str, int], int] = {}  # (rank{R}, trial id there) -> merged id
    for new_id, (rank, r) in enumerate(own):
        values = loaded[rank].state.runhistory.configs[r.config_id]
        config_id, _ = rh.add_config(values, loaded[rank].state.runhistory.origins[r.config_id])
        rh.restore(replace(r, trial_id=new_id, config_id=config_id, origin_rank=rank))
        ids[(f"rank{rank}", r.trial_id)] = new_id
    changes = []
    for rank, run in loaded.items():
        part_rh = run.state.runhistory
        for e in part_rh.trajectory:
            t = part_rh.trials.get(e.trial_id)
            key = (t.source, t.origin_trial) if t is not None and t.shared else (f"rank{rank}", e.trial_id)
            if key in ids:
                front = tuple((rh.add_config(part_rh.configs[c], part_rh.origins[c])[0], cost) for c, cost in e.front)
                changes.append((e.walltime, rank, e.cost, ids[key], front))
    if len(rh.objectives) > 1:
        _merge_fronts(rh, sorted(changes))
    else:
        best = None
        for walltime, _, cost, trial_id, _ in sorted(changes):
            if best is None or sum(cost) < sum(best):
                best = cost
                rh.add_trajectory(TrajectoryEntry(trial_id, rh.trials[trial_id].config_id, tuple(cost), walltime,
                                                  _done_by(rh, trial_id)))
    state = RunState(rh, None, max(r.state.walltime_used for r in loaded.values()),
                        sum(r.state.cputime_used for r in loaded.values()), jobs)
    return LoadedRun(state, 0, (run_dir / SCENARIO).read_text())


def _done_by(rh: RunHistory, trial_id: int) -> int:
    """Trials finished when `trial_id` did."""
    end = rh.trials[trial_id].end_time
    return sum(1 for r in rh.trials.values() if r.end_time and r.end_time <= end)


def _merge_fronts(rh: RunHistory, changes: list) -> None:
    """Several objectives: the job's front after each rank's change is the Pareto front of every
    rank's latest front (a configuration on two ranks' fronts counts once, as last seen)."""
    latest: dict[int, tuple[tuple[int, tuple[float, ...]], ...]] = {}
    previous: tuple = ()
    for walltime, rank, _, trial_id, front in changes:
        latest[rank] = front
        merged = tuple(merged_front([p for f in latest.values() for p in f]))
        if merged and merged != previous:
            previous = merged
            rh.add_trajectory(TrajectoryEntry(trial_id, merged[0][0], merged[0][1], walltime, _done_by(rh, trial_id),
                                              merged))
