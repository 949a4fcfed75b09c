"""SMAC3 2.x's public API on mpismac's engine: change `from smac import ...` to
`from mpismac.smac import ...` and the script runs here, also under `mpiexec` (docs/smac3.md).

Attributes are imported on first use, as in `mpismac`.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AlgorithmConfigurationFacade", "BlackBoxFacade", "HyperparameterOptimizationFacade", "MultiFidelityFacade",
    "RandomFacade", "RunHistory", "Scenario", "StatusType", "TrialInfo", "TrialKey", "TrialValue",
]

_WHERE = {
    "Scenario": "scenario", "RunHistory": "runhistory", "StatusType": "runhistory", "TrialInfo": "runhistory",
    "TrialKey": "runhistory", "TrialValue": "runhistory", "HyperparameterOptimizationFacade": "facade",
    "BlackBoxFacade": "facade", "RandomFacade": "facade", "MultiFidelityFacade": "facade",
    "AlgorithmConfigurationFacade": "facade",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        from importlib import import_module

        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module 'mpismac.smac' has no attribute {name!r}")
