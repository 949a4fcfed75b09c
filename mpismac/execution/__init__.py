"""Trial execution: a persistent child process per rank, with time and memory limits."""

from .executor import ChildExecutor, Executor, InProcessExecutor, Limits, TrialRequest, make_executor

__all__ = ["ChildExecutor", "Executor", "InProcessExecutor", "Limits", "TrialRequest", "make_executor"]
