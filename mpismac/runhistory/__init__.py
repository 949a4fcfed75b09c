"""The runhistory: trials in memory, an append-only journal on disk, an HDF5 snapshot.

Names are imported on first use: a worker rank imports `runhistory.layout` (the run folder's file
names) and must not load numpy, ConfigSpace or h5py with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runhistory import RunHistory, TrajectoryEntry, TrialRecord

__all__ = ["RunHistory", "TrajectoryEntry", "TrialRecord"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import runhistory

        return getattr(runhistory, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
