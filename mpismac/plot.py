"""Incumbent cost over trials and over wall time, one curve per run folder (the `plot` extra),
and with several budgets each trial's cost by budget. Several objectives: the Pareto front and
its hypervolume over trials and over wall time."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import UserError
from .pareto import hypervolume
from .runhistory.runhistory import RunHistory

MAX_STEPS = 300  # hypervolumes computed per run for the curve over time


def incumbent_steps(rh: RunHistory, total_trials: int, total_wall: float) -> tuple[list, list, list]:
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


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UserError("--plot needs matplotlib: pip install 'mpismac[plot]'") from None
    return plt


def plot_runs(runs: list[tuple[str, RunHistory, float]], path: Path,
              reference: Sequence[float] | None = None) -> None:
    """Write a PNG: for each (label, runhistory, wall time used) the incumbent's cost, by trial
    and by time; with several objectives the front and its hypervolume (`plot_fronts`)."""
    if runs and len(runs[0][1].objectives) > 1:
        plot_fronts(runs, path, reference)
        return
    plt = _pyplot()
    budgets = any(len({r.budget for r in rh.finished()}) > 1 for _, rh, _ in runs)
    fig, axes = plt.subplots(1, 3 if budgets else 2, figsize=(16 if budgets else 11, 4.2), constrained_layout=True)
    ax_trials, ax_wall = axes[0], axes[1]
    positive, drawn = True, False
    for label, rh, wall in runs:
        x_trials, x_wall, y = incumbent_steps(rh, len(rh.trials), wall)
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
    if budgets:
        _cost_by_budget(axes[2], runs, objective)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _cost_by_budget(ax, runs: list[tuple[str, RunHistory, float]], objective: str) -> None:
    """Multi-fidelity: every finished trial's cost at its budget, and each configuration's
    costs joined across the budgets it reached (its learning curve), faded."""
    positive = True
    for n, (label, rh, _) in enumerate(runs):
        color = f"C{n % 10}"
        curves: dict[int, list[tuple[float, float]]] = {}
        for r in rh.finished():
            if r.budget is not None and r.cost and np.isfinite(r.cost[0]) and not r.shared:
                curves.setdefault(r.config_id, []).append((r.budget, r.cost[0]))
        points = np.array([p for c in curves.values() for p in c]).reshape(-1, 2)
        if not len(points):
            continue
        positive = positive and bool(points[:, 1].min() > 0)
        for curve in curves.values():
            if len(curve) > 1:
                b, c = zip(*sorted(curve), strict=True)
                ax.plot(b, c, color=color, alpha=0.25, linewidth=0.8)
        ax.scatter(points[:, 0], points[:, 1], s=10, color=color, alpha=0.6, linewidths=0, label=label)
    ax.set_xscale("log")
    if positive:
        ax.set_yscale("log")
    ax.set_xlabel("budget")
    ax.set_ylabel(f"{objective} of each trial")
    ax.set_title("cost by budget (a line per configuration)", fontsize="medium")
    ax.grid(True, alpha=0.3)


def hypervolume_steps(rh: RunHistory, reference: np.ndarray, total_trials: int,
                       total_wall: float) -> tuple[list, list, list]:
    """Step curves (x by trials, x by wall time, y) of the front's hypervolume, to the run's end;
    at most MAX_STEPS changes (evenly spaced, and the last) are evaluated."""
    by_trial, by_wall, volume = [], [], []
    changes = rh.trajectory
    if len(changes) > MAX_STEPS:
        changes = changes[:: -(-len(changes) // MAX_STEPS)] + changes[-1:]
    for e in changes:
        by_trial.append(e.trials)
        by_wall.append(e.walltime)
        volume.append(hypervolume([cost for _, cost in e.points], reference))
    if volume:
        by_trial.append(max(total_trials, by_trial[-1]))
        by_wall.append(max(total_wall, by_wall[-1]))
        volume.append(volume[-1])
    return by_trial, by_wall, volume


def common_reference(runs: list[tuple[str, RunHistory, float]]) -> np.ndarray:
    """The worst finite cost of each objective over every run's finished trials."""
    k = len(runs[0][1].objectives)
    costs = np.array([r.cost for _, rh, _ in runs for r in rh.finished() if r.cost], dtype=float).reshape(-1, k)
    costs = np.where(np.isfinite(costs), costs, np.nan)
    worst = np.nanmax(costs, axis=0) if len(costs) else np.ones(k)
    return np.where(np.isnan(worst), 1.0, worst)


def plot_fronts(runs: list[tuple[str, RunHistory, float]], path: Path, reference: Sequence[float] | None) -> None:
    """Write a PNG: each run's Pareto front over every pair of objectives (the front as a step
    line, every finished trial faded behind it), and its hypervolume (against `reference`, or
    the worst finished costs) by trial and by time."""
    plt = _pyplot()
    objectives = runs[0][1].objectives
    pairs = [(i, j) for i in range(len(objectives)) for j in range(i + 1, len(objectives))]
    ref = np.asarray(reference, dtype=float) if reference is not None else common_reference(runs)
    n_panels = len(pairs) + 2
    cols = min(n_panels, 3)
    rows = -(-n_panels // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 4.0 * rows), constrained_layout=True, squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n_panels:]:
        ax.set_visible(False)
    ax_trials, ax_wall = flat[len(pairs)], flat[len(pairs) + 1]
    for n, (label, rh, wall) in enumerate(runs):
        color = f"C{n % 10}"
        seen = np.array([r.cost for r in rh.finished() if r.cost and not r.shared], dtype=float)
        front = np.array(sorted(cost for _, cost in rh.front), dtype=float)
        for ax, (i, j) in zip(flat, pairs, strict=False):
            if len(seen):
                ax.scatter(seen[:, i], seen[:, j], s=9, color=color, alpha=0.18, linewidths=0)
            if len(front):
                shown = front[np.argsort(front[:, i])]
                if len(objectives) == 2:
                    ax.step(shown[:, i], shown[:, j], where="post", color=color, linewidth=1.6)
                ax.scatter(shown[:, i], shown[:, j], s=22, color=color, label=f"{label} ({len(front)} on the front)")
        x_trials, x_wall, volume = hypervolume_steps(rh, ref, len(rh.trials), wall)
        if volume:
            ax_trials.step(x_trials, volume, where="post", color=color, linewidth=1.8, label=label)
            ax_wall.step(x_wall, volume, where="post", color=color, linewidth=1.8)
    for ax, (i, j) in zip(flat, pairs, strict=False):
        ax.set_xlabel(objectives[i])
        ax.set_ylabel(objectives[j])
        ax.grid(True, alpha=0.3)
        _clip_to(ax, ref[i], ref[j])
    flat[0].legend(fontsize="small")
    reference_text = ", ".join(f"{v:.3g}" for v in ref)
    for ax, xlabel in ((ax_trials, "trials"), (ax_wall, "wall time [s]")):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"hypervolume (reference {reference_text})")
        ax.grid(True, alpha=0.3)
    ax_wall.set_xlim(left=0)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _clip_to(ax, x_max: float, y_max: float) -> None:
    """Show the region the hypervolume counts (up to the reference point), and what is left of it."""
    x_lo, _ = ax.get_xlim()
    y_lo, _ = ax.get_ylim()
    ax.set_xlim(x_lo, x_max + 0.02 * abs(x_max - x_lo))
    ax.set_ylim(y_lo, y_max + 0.02 * abs(y_max - y_lo))
