"""SIGKILL at any instant, inside journal appends and snapshot swaps included, loses nothing that
was durable, and the folder always opens and resumes (real `mpiexec -n 4` jobs; see killing.py)."""

from __future__ import annotations

import pytest

from .conftest import figure
from .killing import MPIEXEC, campaign, summary

pytestmark = pytest.mark.skipif(not MPIEXEC.exists(), reason="no mpiexec next to this Python "
                                "(install the 'mpich' extra: pip install -e '.[mpich]')")

# Mostly aimed at writes; a few at random moments and at a worker (the launcher then ends the job).
PLANS = ("append:rank0", "snapshot:all", "append:all", "snapshot:rank0", "random:worker",
         "append:rank0", "snapshot:rank0", "append:all", "snapshot:all", "random:all")
KILLS, N_TRIALS = 12, 300  # the suite's share (every plan, the write plans twice or more); benchmarks/README.md
# has the 120-kill campaign


def test_sigkill_inside_writes_loses_nothing_and_the_run_completes(tmp_path):
    kills, result = campaign(tmp_path, kills=KILLS, n_trials=N_TRIALS, seed=7, plans=PLANS)
    s = summary(kills)
    figure(f"kill test, mpiexec -n 4: {s['kills']} SIGKILLs, {s['inside_append']} inside a journal append, "
           f"{s['inside_snapshot']} inside a snapshot swap; folders that failed to open {s['failed_to_open']}, "
           f"trials lost {s['trials_lost']}; final run {result['finished']} trials")
    assert s["kills"] == KILLS, "the run completed before the kills were spent: raise n_trials"
    assert s["inside_write"] >= 8 and s["inside_append"] >= 3 and s["inside_snapshot"] >= 3, s  # 10 aimed at writes
    assert s["failed_to_open"] == 0 and s["trials_lost"] == 0 and s["processes_left"] == 0, s
    assert result["final_exit"] == 0, result["final_stderr"]
    assert result["ids"] and result["finished"] == result["unique_ended"] == N_TRIALS, result
    assert result["ended_records"] == N_TRIALS, "a trial ended twice: a durable result was run again"
    assert result["lost_at_end"] == []
