"""mpismac: SMAC-style Bayesian optimization that runs natively on MPI.

Attributes are imported on first use, so a trial process or `report` loads only what it needs
(and nothing here imports mpi4py).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Checkpoint", "Optimizer", "RunResult", "Scenario", "Status", "TrialInfo", "TrialValue", "optimize"]

_WHERE = {
    "Scenario": "scenario", "optimize": "api", "Optimizer": "optimizer", "RunResult": "runtime.result",
    "Status": "trial", "TrialInfo": "trial", "Checkpoint": "trial", "TrialValue": "trial",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        from importlib import import_module

        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module 'mpismac' has no attribute {name!r}")
