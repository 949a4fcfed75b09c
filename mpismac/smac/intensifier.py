"""SMAC3's `smac.intensifier.Intensifier(scenario, max_config_calls=...)`, as the knobs it sets."""

from __future__ import annotations

from typing import Any

from . import components as parts
from .components import UNSET, Component


def Intensifier(scenario: Any, max_config_calls: int = UNSET, max_incumbents: int = UNSET,  # noqa: N802
                seed: int | None = None) -> Component:
    """SMAC3's intensifier: `max_config_calls` maps to ours; a `seed` other than the scenario's is
    refused (the race's pairs come from the scenario's seed)."""
    if seed is not None and seed != scenario.seed:
        raise parts.refuse("Intensifier", "seed", "the (instance, seed) pairs are drawn from the scenario's seed")
    return parts.intensifier("Intensifier", max_config_calls, max_incumbents)
