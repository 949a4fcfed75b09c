"""Incumbent cost over trials and over wall time, one curve per run folder (the `plot` extra)."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UserError
from .runhistory.runhistory import RunHistory


def _steps(rh: RunHistory, total_trials: int, total_wall: float) -> tuple[list, list, list]:
    """Step curves (x by trials, x by wall time, y) of the first objective, extended to the run's end."""
    by_trial, by_wall, cost = [], [], []
    for e in rh.trajectory:
        by_trial.append(e.trials)
        by_wall.append(e.walltime)
        cost.append(e.cost[0])
    if cost:
        by_trial.append(max(total_trials, by_trial[-1]))
        by_wall.append(max(total_wall, by_wall[-1]))
        cost.append(cost[-1])
    return by_trial, by_wall, cost


def short_labels(paths: list[str]) -> list[str]:
    """Run folders named by what tells them apart (their path below the common parent)."""
    resolved = [Path(p).resolve() for p in paths]
    if len(resolved) < 2:
        return [str(Path(p)) for p in paths]
    common = Path(os.path.commonpath(resolved))
    return [str(p.relative_to(common)) or str(p) for p in resolved]


def plot_runs(runs: list[tuple[str, RunHistory, float]], path: Path) -> None:
    """Write a PNG: for each (label, runhistory, wall time used) the incumbent's cost, by trial and by time."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UserError("--plot needs matplotlib: pip install 'mpismac[plot]'") from None
    fig, (ax_trials, ax_wall) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    positive, drawn = True, False
    for label, rh, wall in runs:
        x_trials, x_wall, y = _steps(rh, len(rh.trials), wall)
        if not y:
            continue
        positive, drawn = positive and min(y) > 0, True
        line, = ax_trials.step(x_trials, y, where="post", label=label, linewidth=1.8)
        ax_wall.step(x_wall, y, where="post", label=label, linewidth=1.8, color=line.get_color())
    objective = runs[0][1].objectives[0] if runs else "cost"
    for ax, xlabel in ((ax_trials, "trials"), (ax_wall, "wall time [s]")):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"incumbent {objective}")
        if positive and drawn:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
    ax_wall.set_xlim(left=0)
    ax_trials.legend(fontsize="small")
    fig.savefig(path, dpi=100)
    plt.close(fig)
