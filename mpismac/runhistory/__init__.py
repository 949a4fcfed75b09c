"""The runhistory: trials in memory, an append-only journal on disk, an HDF5 snapshot."""

from .runhistory import RunHistory, TrajectoryEntry, TrialRecord

__all__ = ["RunHistory", "TrajectoryEntry", "TrialRecord"]
