"""Local steps: the minimum of a quadratic model of the cost fitted around the best point.

A forest's mean is an average of observed costs: it never points past the best one, so the
forest finds the basin of a smooth optimum but not its bottom. A local step fits a separable
quadratic (one slope and one curvature per numeric hyperparameter) to the points nearest the
best one, weighted by distance, and moves to the model's minimum within a trust region measured
by how far those points lie. As points gather near the optimum the region shrinks with them.
This is the model step of derivative-free trust-region methods (Conn, Scheinberg and Vicente,
2009), without the region's bookkeeping: it is derived from the data, so a step depends on the
results only (reproducible runs, resumes) and costs one small least-squares solve.
"""

from __future__ import annotations

import math

import numpy as np

from .vectors import VectorSpace

FIT_POINTS = 1.2  # points fitted per model coefficient (1 + 2n coefficients for n numeric hyperparameters)
NEWTON_RADIUS = 0.5  # longest step to a convex model's minimum, in units of the fitting radius
BOX_RADIUS = 0.1  # longest step per hyperparameter when the model is not convex (fitting radius units)
RIDGE = 1e-6
SAME = 1e-6  # a step closer than this (per hyperparameter, unit cube) to a point run is that point
SPREAD = 0.25  # a local step this close to a running one (fitting radius units) says the same
CENTRES = 3  # points tried as a local step's centre when the best ones' steps are running
LOCAL = "local"  # the origin of a configuration that a local step proposed


def local_step(space: VectorSpace, rows: np.ndarray, costs: np.ndarray,
               avoid: np.ndarray | None = None) -> np.ndarray | None:
    """A row (vector encoding) at the minimum of the quadratic model around the best of `rows`
    (lowest of `costs`), moving its active numeric hyperparameters only; None when too few
    points share the best one's other values or the step lands on (within SAME of) a row of
    `rows` or of `avoid` (trials running, proposals prepared). A step that lands near a row
    of `avoid` is taken around the next best point instead, up to CENTRES of them."""
    feats = space.features(rows)
    others = space.features(avoid) if avoid is not None and len(avoid) else None
    for best in np.argsort(costs, kind="stable")[:CENTRES]:
        row, near = _step_from(space, rows, costs, int(best), feats, others)
        if not near:
            return row
    return None


def _step_from(space: VectorSpace, rows: np.ndarray, costs: np.ndarray, best: int, feats: np.ndarray,
               others: np.ndarray | None) -> tuple[np.ndarray | None, bool]:
    """The local step around rows[best] (`feats`: the features of `rows`; `others`: those of
    the rows to avoid), and whether it was refused for lying near one of `others`."""
    center = rows[best]
    num = space.numeric & ~np.isnan(center)
    n = int(num.sum())
    if n == 0:
        return None, False
    same = np.all(feats[:, ~num] == feats[best, ~num], axis=1)
    offsets = rows[same][:, num] - center[num]
    m = math.ceil(FIT_POINTS * (1 + 2 * n))
    if len(offsets) < m:
        return None, False
    dist = np.linalg.norm(offsets, axis=1)
    near = np.argsort(dist, kind="stable")[:m]
    radius = float(dist[near[-1]])
    y = costs[same][near]
    if radius <= 0 or not np.ptp(y) > 0:
        return None, False
    u = offsets[near] / radius  # the fit is done in units of the radius: well conditioned at any scale
    w = np.exp(-0.5 * (dist[near] / radius) ** 2)
    design = np.hstack([np.ones((m, 1)), u, u**2]) * w[:, None]
    target = (y - y.mean()) / y.std() * w
    coef = np.linalg.solve(design.T @ design + RIDGE * np.eye(1 + 2 * n), design.T @ target)
    slope, curvature = coef[1 : n + 1], coef[n + 1 :]  # model: slope·u + curvature·u² per axis
    if (curvature > 0).all():
        step = -slope / (2 * curvature)
        length = float(np.linalg.norm(step))
        if length > NEWTON_RADIUS:
            step *= NEWTON_RADIUS / length
    else:
        step = _box_minimum(slope, curvature, BOX_RADIUS)
    row = center.copy()
    row[num] = np.clip(center[num] + step * radius, 0.0, 1.0)
    row = space.repair(space.snap(row[None]))
    if not len(row):
        return None, False
    mine = space.features(row)
    if (np.abs(feats - mine) < SAME).all(axis=1).any():
        return None, False
    if others is None:
        return row[0], False
    same_kind = np.all(others[:, ~num] == mine[0, ~num], axis=1)
    d = np.linalg.norm(others[same_kind][:, num] - mine[0, num], axis=1)
    return (None, True) if len(d) and d.min() < SPREAD * radius + SAME else (row[0], False)


def _box_minimum(slope: np.ndarray, curvature: np.ndarray, half_width: float) -> np.ndarray:
    """Per axis, the minimum of slope·u + curvature·u² over |u| ≤ half_width."""
    candidates = [np.full_like(slope, -half_width), np.full_like(slope, half_width)]
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex = np.where(curvature > 0, -slope / (2 * curvature), 0.0)
    candidates.append(np.clip(vertex, -half_width, half_width))
    u = np.stack(candidates)
    values = slope * u + curvature * u**2
    return u[np.argmin(values, axis=0), np.arange(len(slope))]
