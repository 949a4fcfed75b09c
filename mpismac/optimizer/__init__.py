"""The optimizer: ask/tell over a runhistory. Knows nothing of MPI or processes."""

from .optimizer import Incumbent, Optimizer

__all__ = ["Incumbent", "Optimizer"]
