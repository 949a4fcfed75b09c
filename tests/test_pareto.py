"""Dominance, the front and the hypervolume, against cases worked by hand and a known volume."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mpismac.pareto import dominates, hypervolume, merged_front, non_dominated

pytestmark = pytest.mark.fast


def test_dominance_needs_one_strictly_better_objective():
    assert dominates([1, 1], [1, 2])
    assert not dominates([1, 2], [1, 2])
    assert not dominates([0, 3], [1, 2])


def test_the_front_keeps_one_of_equal_points_and_drops_nan():
    costs = np.array([[1, 1], [1, 1], [0, 2], [2, 0], [2, 2], [np.nan, 0]])
    assert non_dominated(costs).tolist() == [True, False, True, True, False, False]


@pytest.mark.parametrize("points, reference, volume", [
    ([[0, 1], [1, 0]], [2, 2], 3.0),
    ([[0, 1], [1, 0], [1.5, 1.5]], [2, 2], 3.0),  # a dominated point adds nothing
    ([[3, 0]], [2, 2], 0.0),  # beyond the reference
    ([[0.5, 0.5, 0.5]], [1, 1, 1], 0.125),
    ([[0, 0, 0.5], [0.5, 0.5, 0]], [1, 1, 1], 0.625),
    ([[0.5, 0.5, 0.5, 0.5], [0, 0.75, 0.75, 0.75]], [1, 1, 1, 1], 0.0625 + 0.25**3 - 0.5 * 0.25**3),
])
def test_hypervolume_of_boxes_worked_by_hand(points, reference, volume):
    assert hypervolume(points, reference) == pytest.approx(volume)


def test_hypervolume_of_a_sphere_front_approaches_the_known_volume():
    """DTLZ2's front is the positive unit sphere: with reference 1.1 it dominates 1.1^3 - pi/6."""
    x = np.abs(np.random.default_rng(0).normal(size=(2000, 3)))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    assert hypervolume(x, [1.1] * 3) == pytest.approx(1.1**3 - math.pi / 6, rel=0.03)


def test_fronts_merge_into_one_with_each_key_once_at_its_last_costs():
    ranks = [("a", (1.0, 3.0)), ("b", (2.0, 2.0)), ("c", (3.0, 3.0)),  # c: dominated by b
             ("a", (0.5, 3.0)), ("d", (3.0, 0.5)), ("e", (2.0, 2.0))]  # a again; e equals b
    assert merged_front(ranks) == [("a", (0.5, 3.0)), ("b", (2.0, 2.0)), ("d", (3.0, 0.5))]
    assert merged_front([]) == []
