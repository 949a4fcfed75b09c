"""The names of a run folder's files (see folder.py), importable without numpy or h5py."""

from __future__ import annotations

JOURNAL, SNAPSHOT, SCENARIO, LOCK, LOGS = "journal.jsonl", "runhistory.h5", "scenario.yaml", "lock.json", "logs"
