"""Trial execution: a persistent child process per rank, with time and memory limits.

Names are imported on first use: the trial process imports `execution.child` and must fork its
sentinel before numpy or ConfigSpace are loaded.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ChildExecutor", "Executor", "InProcessExecutor", "Limits", "RuntimeRule", "TrialRequest", "TrialSetup",
           "make_executor"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import executor

        return getattr(executor, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
