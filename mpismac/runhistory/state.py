"""A run's state, and the one function that changes it: `RunState.apply(record)`.

Every change — a configuration added, a trial started or ended, a shared run, an incumbent
change, a checkpoint — is a journal record (records.py). The writer of a live run applies each
record here and then appends it to the journal (folder.Recorder.write); a reader replays the
journal through the same `apply`. So a run read back is the run that was written, and a new
kind of record costs one record class and one handler.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..trial import Status, TrialInfo
from .records import (
    Checkpointed,
    ConfigAdded,
    ExchangeDone,
    FormatHeader,
    IncumbentChanged,
    JobStarted,
    JournalFormatError,
    ModelFitted,
    Record,
    SharedRunAdded,
    TrialEnded,
    TrialStarted,
)
from .runhistory import RunHistory, TrajectoryEntry

JOURNAL_VERSION = 1


@dataclass
class RunState:
    """The runhistory and what else a run carries on with: the optimizer's state as of the last
    checkpoint (plus the proposal counters of later starts), time used, the jobs so far."""

    runhistory: RunHistory
    optimizer_state: dict[str, Any] | None = None
    walltime_used: float = 0.0
    cputime_used: float = 0.0
    jobs: list[JobStarted] = field(default_factory=list)

    def apply(self, record: Record) -> None:
        """Change the state as `record` says; raises JournalFormatError for a record this
        version cannot apply (a newer format, or one inconsistent with the state)."""
        handler = _HANDLERS.get(type(record))
        if handler is None:
            raise JournalFormatError(f"no handler for {type(record).__name__}")
        handler(self, record)

    def replay(self, records: Iterable[Record]) -> None:
        for record in records:
            self.apply(record)

    def salvage(self, record: Record) -> bool:
        """Apply a record of a journal known to have lost records in the middle (damaged, and
        skipped): a configuration whose predecessors were lost gets placeholders for them (so
        later ids still match); a record that needs what was lost (a trial of a lost
        configuration, the end of a lost start) is skipped. True if it was applied."""
        try:
            if isinstance(record, ConfigAdded) and record.id > len(self.runhistory.configs):
                self.runhistory.add_lost(record.id - len(self.runhistory.configs))
            self.apply(record)
            return True
        except JournalFormatError:
            return False


def _format(s: RunState, r: FormatHeader) -> None:
    if r.version > JOURNAL_VERSION:
        raise JournalFormatError(f"journal format version {r.version} is newer than this mpismac reads "
                                 f"({JOURNAL_VERSION})")


def _job(s: RunState, r: JobStarted) -> None:
    s.jobs.append(r)


def _config(s: RunState, r: ConfigAdded) -> None:
    expected = len(s.runhistory.configs)
    if r.id != expected:
        raise JournalFormatError(f"configuration id {r.id} where {expected} comes next")
    config_id, new = s.runhistory.add_config(r.values, r.origin)
    if not new:
        raise JournalFormatError(f"configuration {r.id} is already known as {config_id}")


def _start(s: RunState, r: TrialStarted) -> None:
    rh = s.runhistory
    if not 0 <= r.config < len(rh.configs) or rh.lost(r.config):
        raise JournalFormatError(f"trial {r.trial} starts configuration {r.config}, which is not in the run")
    known = rh.trials.get(r.trial)
    if known is not None and (known.status != Status.RUNNING or known.shared):
        raise JournalFormatError(f"trial {r.trial} is started again after it ended")
    info = TrialInfo(r.trial, r.config, rh.configs[r.config], r.instance, r.seed, r.budget)
    rh.start_trial(info, r.time, r.worker, r.rank)
    if r.counters is not None:  # the proposal counters, newer than the last checkpoint
        s.optimizer_state = {**(s.optimizer_state or {}), **r.counters}


def _end(s: RunState, r: TrialEnded) -> None:
    known = s.runhistory.trials.get(r.trial)
    if known is None or known.status != Status.RUNNING:
        why = "not in the run" if known is None else "not running"
        raise JournalFormatError(f"trial {r.trial} ends, but it is {why}")
    s.runhistory.end_trial(r.trial, r.value)


def _shared(s: RunState, r: SharedRunAdded) -> None:
    rh = s.runhistory
    if r.trial in rh.trials or not 0 <= r.config < len(rh.configs):
        raise JournalFormatError(f"shared run {r.trial} clashes with the run's trials or configurations")
    info = TrialInfo(r.trial, r.config, rh.configs[r.config], r.instance, r.seed, r.budget)
    rh.add_shared(info, r.value, r.source, r.origin_trial, r.origin_rank)


def _incumbent(s: RunState, r: IncumbentChanged) -> None:
    for config in [r.config, *(c for c, _ in r.front)]:
        if not 0 <= config < len(s.runhistory.configs) or s.runhistory.lost(config):
            raise JournalFormatError(f"the incumbent is configuration {config}, which is not in the run")
    s.runhistory.add_trajectory(TrajectoryEntry(r.trial, r.config, r.cost, r.walltime, r.trials, r.front))


def _checkpoint(s: RunState, r: Checkpointed) -> None:
    s.optimizer_state = r.state
    s.walltime_used = r.walltime_used
    s.cputime_used = r.cputime_used


def _for_readers(s: RunState, r: ModelFitted | ExchangeDone) -> None:
    """Records for readers (model refits, exchange time): nothing to change."""


_HANDLERS: dict[type, Callable[[RunState, Any], None]] = {
    FormatHeader: _format, JobStarted: _job, ConfigAdded: _config, TrialStarted: _start, TrialEnded: _end,
    SharedRunAdded: _shared, IncumbentChanged: _incumbent, Checkpointed: _checkpoint, ModelFitted: _for_readers,
    ExchangeDone: _for_readers,
}
