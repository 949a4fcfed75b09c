"""What SMAC3's `get_*` facade helpers return here: the knobs they set, checked.

A helper called with SMAC3's defaults leaves mpismac's own choice in place; an argument we have
a knob for sets it; any other argument is refused, naming it, so that nothing is silently
ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import UserError

UNSET: Any = object()  # an argument the caller did not give


@dataclass(frozen=True)
class Component:
    """A facade component as a set of scenario knobs (`initial_design_size`, `max_config_calls`)."""

    kind: str  # the facade argument it is for: "initial_design", "intensifier", ...
    knobs: dict[str, Any] = field(default_factory=dict)


def refuse(helper: str, argument: str, why: str) -> UserError:
    return UserError(f"mpismac.smac: {helper}({argument}=...) is not supported: {why}")


def component(kind: str, helper: str, given: dict[str, Any]) -> Component:
    """A component that has no knob here: only SMAC3's defaults (arguments not given) pass."""
    for name, value in given.items():
        if value is not UNSET:
            raise refuse(helper, name, f"mpismac has its own {kind.replace('_', ' ')} and no setting for "
                                       f"'{name}' (docs/smac3.md lists what maps)")
    return Component(kind)


def initial_design(helper: str, scenario: Any, n_configs: Any, n_configs_per_hyperparameter: Any, max_ratio: Any,
                   additional_configs: Any) -> Component:
    """`n_configs`, or SMAC3's size rule when its parts are given, sets `initial_design_size`."""
    if additional_configs not in (UNSET, None, []):
        raise refuse(helper, "additional_configs", "the initial design is the default configuration "
                     "(use_default_config) and Sobol points; tell extra configurations with ask/tell instead")
    if n_configs not in (UNSET, None):
        return Component("initial_design", {"initial_design_size": int(n_configs)})
    if n_configs_per_hyperparameter is UNSET and max_ratio is UNSET:
        return Component("initial_design")
    per = 10 if n_configs_per_hyperparameter is UNSET else n_configs_per_hyperparameter
    ratio = 0.25 if max_ratio is UNSET else max_ratio
    size = max(1, min(int(per * len(list(scenario.configspace.values()))), int(ratio * scenario.n_trials)))
    return Component("initial_design", {"initial_design_size": size})


def intensifier(helper: str, max_config_calls: Any, max_incumbents: Any) -> Component:
    """`max_config_calls` sets ours; the number of incumbents is not bounded here."""
    if max_incumbents is not UNSET:
        raise refuse(helper, "max_incumbents", "the incumbents are the Pareto front, never cut to a number")
    if max_config_calls is UNSET:
        return Component("intensifier")
    return Component("intensifier", {"max_config_calls": int(max_config_calls)})


def random_design(helper: str, probability: Any) -> Component:
    """No random interleaving here: probability 0 (or SMAC3's default, not given) only."""
    if probability not in (UNSET, 0, 0.0):
        raise refuse(helper, "probability", "mpismac proposes no random configurations between model-based "
                                            "ones (its local steps and pending-aware acquisition replace them)")
    return Component("random_design")
