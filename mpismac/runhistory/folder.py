"""The run folder: reading a run back, writing one (journal, snapshots), and its lock file.

    {output_directory}/{name}/{seed}/
        scenario.yaml      the scenario as resolved
        journal.jsonl      the source of truth (see journal.py)
        runhistory.h5      snapshot (see snapshot.py)
        lock.json          which job writes here (host, pid, heartbeat)
        logs/              rank{R}.log, worker{R}.out (the target's output)

In pSMAC mode every rank R writes a part of its own, `journal.rank{R}.jsonl` and
`runhistory.rank{R}.h5`, beside the one `scenario.yaml` and lock of the job.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from ConfigSpace import ConfigurationSpace

from .. import yamlio
from ..errors import UserError
from .journal import JournalWriter, WriteObserver, read_journal
from .layout import JOURNAL, LOCK, LOGS, SCENARIO, SNAPSHOT  # noqa: F401 (LOGS: re-exported)
from .records import Checkpointed, JobStarted, Record, decode
from .runhistory import RunHistory
from .snapshot import SnapshotError, read_snapshot, write_snapshot
from .state import RunState

log = logging.getLogger(__name__)

LOCK_STALE_S = 120.0
HEARTBEAT_S = 15.0


def journal_name(part: str = "") -> str:
    return f"journal.{part}.jsonl" if part else JOURNAL


def snapshot_name(part: str = "") -> str:
    return f"runhistory.{part}.h5" if part else SNAPSHOT


def parts(run_dir: Path) -> list[str]:
    """The pSMAC parts of a run folder ("rank0", "rank1", ...), in rank order; [] otherwise."""
    names = {p.name.split(".")[1] for p in Path(run_dir).glob("journal.rank*.jsonl")}
    return sorted((n for n in names if n[4:].isdigit()), key=lambda n: int(n[4:]))


class RunFolderError(UserError):
    """A run folder that cannot be read or written."""


@dataclass(frozen=True)
class LoadedRun:
    state: RunState
    journal_end: int
    scenario_yaml: str


def load_run(run_dir: Path, part: str = "") -> LoadedRun:
    """Read a run (or one pSMAC part of it): the snapshot if it is usable, then the journal from
    where the snapshot ends."""
    run_dir = Path(run_dir)
    scenario_path = run_dir / SCENARIO
    if not scenario_path.is_file():
        raise RunFolderError(f"{run_dir}: not an mpismac run folder (no {SCENARIO})")
    scenario_yaml = scenario_path.read_text()
    snapshot = None
    if (run_dir / snapshot_name(part)).exists():
        try:
            snapshot = read_snapshot(run_dir / snapshot_name(part))
        except SnapshotError as exc:
            log.warning("%s; replaying the whole journal instead", exc)
    journal = run_dir / journal_name(part)
    size = journal.stat().st_size if journal.exists() else 0
    if snapshot is not None and snapshot.journal_offset <= size:
        state, start = snapshot.state, snapshot.journal_offset
    else:
        try:
            raw = yamlio.load(scenario_yaml)
            cs = ConfigurationSpace.from_serialized_dict(raw["configspace"])
            objectives = raw["objectives"]
        except (yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
            raise RunFolderError(f"{scenario_path}: unreadable ({exc})") from None
        state = RunState(RunHistory(cs, tuple(objectives)))
        start = 0
    read = read_journal(journal, start)
    left_out = 0
    for offset, raw in zip(read.offsets, read.records, strict=True):
        try:
            record = decode(raw)
            if not read.skipped:
                state.apply(record)
            elif not state.salvage(record):  # records were lost: keep what does not need them
                left_out += 1
        except (ValueError, KeyError, IndexError, TypeError) as exc:  # JournalFormatError, IllegalValueError
            why = " ".join(str(exc).split())  # ConfigSpace's messages run over several lines
            raise RunFolderError(f"{journal}: the {raw.get('op')!r} record at byte {offset} cannot be replayed "
                                 f"({why})") from None
    if left_out:
        log.warning("%s: left out %d record(s) that refer to what the damaged record(s) held; the rest of the "
                    "run is read", journal, left_out)
    return LoadedRun(state, read.end, scenario_yaml)


class Recorder:
    """The one writer of a live run: each record is applied to the state (`RunState.apply`)
    and appended to the journal, durable at each checkpoint; a fresh snapshot every
    `snapshot_interval` seconds and at the end. Called from one thread."""

    def __init__(self, run_dir: Path, scenario_yaml: str, state: RunState, journal_end: int | None,
                 snapshot_interval: float = 30.0, part: str = "", observer: WriteObserver | None = None):
        """`observer` is told of every write (see WriteObserver)."""
        self.run_dir = Path(run_dir)
        self.observer = observer
        self.snapshot_path = self.run_dir / snapshot_name(part)
        self.state = state
        self.scenario_yaml = scenario_yaml
        self.snapshot_interval = snapshot_interval
        self.journal = JournalWriter(self.run_dir / journal_name(part), journal_end, observer)
        self._last_snapshot = time.monotonic()
        self._dirty = False
        self._ended: list[int] = []  # trials ended since the last sync (for the kill tests' trace)

    def write(self, record: Record) -> None:
        """Apply the record, then append it (a record the state refuses is never written)."""
        self.state.apply(record)
        self.journal.append(record.to_json())
        self._dirty = True
        if record.op == "end":
            self._ended.append(record.trial)  # type: ignore[union-attr]

    def job(self, ranks: int) -> None:
        """A job begins writing this run."""
        self.write(JobStarted(time.time(), socket.gethostname(), job_id(), ranks, self.state.walltime_used))
        self._sync()

    def _sync(self) -> None:
        if self.observer is not None:
            self.observer.begin("sync")
        self.journal.sync()
        if self.observer is not None:
            self.observer.end("sync", self._ended)  # these trials are durable now
        self._ended = []

    def checkpoint(self, optimizer_state: dict[str, Any], walltime_used: float, cputime_used: float,
                   force_snapshot: bool = False) -> None:
        """Make everything so far durable; swap in a new snapshot when one is due."""
        self.write(Checkpointed(optimizer_state, walltime_used, cputime_used))
        self._sync()
        if force_snapshot or time.monotonic() - self._last_snapshot >= self.snapshot_interval:
            self.snapshot()

    def snapshot(self) -> None:
        if not self._dirty and self.snapshot_path.exists():
            return
        write_snapshot(self.snapshot_path, self.state, self.scenario_yaml, self.journal.offset, self.observer)
        self._last_snapshot = time.monotonic()
        self._dirty = False

    def close(self) -> None:
        self.journal.close()


def job_id() -> str:
    for var in ("SLURM_JOB_ID", "PBS_JOBID", "LSB_JOBID", "JOB_ID"):
        if os.environ.get(var):
            return os.environ[var]
    return f"pid{os.getpid()}"


def restart_count() -> int:
    """How often the scheduler has requeued this job (SLURM_RESTART_COUNT), 0 if never."""
    value = os.environ.get("SLURM_RESTART_COUNT", "0")
    return int(value) if value.isdigit() else 0


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


class RunLock:
    """One job writes a run folder at a time: a lock file with job id, host, pid and heartbeat
    (not flock, which parallel file systems often do not honour)."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK
        self._beat = 0.0
        self._held = False

    def _content(self) -> bytes:
        return json.dumps({"job_id": job_id(), "restart": restart_count(), "host": socket.gethostname(),
                           "pid": os.getpid(), "heartbeat": time.time()}).encode()

    def acquire(self) -> None:
        """Take the lock, or raise RunFolderError naming the job that holds it. The lock file appears
        whole or not at all (written under a name of our own, then hard-linked as `lock.json`, which
        fails if it exists), so no reader ever sees it empty or half-written."""
        for _ in range(2):
            try:
                linked = self._link_new()
            except OSError as exc:
                raise RunFolderError(f"{self.path}: cannot write the lock ({exc.strerror})") from None
            if linked:
                self._held, self._beat = True, time.monotonic()
                return
            self._take_over_if_stale()
        raise RunFolderError(f"{self.path}: could not take the lock")

    def _link_new(self) -> bool:
        """Create the lock file with its content in one step; False if it exists already."""
        tmp = self.path.with_name(f"{LOCK}.{socket.gethostname()}.{os.getpid()}.new")
        try:
            with open(tmp, "wb") as f:
                f.write(self._content())
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                return False
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                    raise
                return self._create_exclusive()  # a file system without hard links
            return True
        finally:
            tmp.unlink(missing_ok=True)

    def _create_exclusive(self) -> bool:
        """Create the lock file, then write it: a reader may see it empty for a moment, which
        `_take_over_if_stale` counts as in use."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as f:
            f.write(self._content())
        return True

    def _take_over_if_stale(self) -> None:
        try:
            text = self.path.read_text()
            modified = self.path.stat().st_mtime
        except FileNotFoundError:
            return  # released meanwhile: try again
        except OSError as exc:
            raise RunFolderError(f"{self.path}: cannot read the lock ({exc.strerror})") from None
        try:
            other = json.loads(text)
            host, pid, beat = other["host"], int(other["pid"]), float(other["heartbeat"])
        except (ValueError, KeyError, TypeError):
            # Unreadable: a lock written by a job of an older version at this very moment, or left
            # half-written by a crash. Only its age can tell; never a reason to take it over at once.
            age = time.time() - modified
            if age > LOCK_STALE_S:
                log.warning("taking over the unreadable lock %s, last modified %.0f s ago", self.path, age)
                self.path.unlink(missing_ok=True)
                return
            raise RunFolderError(f"{self.path.parent} is in use: its lock {self.path} is unreadable (being "
                                 f"written, or damaged), modified {age:.0f} s ago; wait for the job that writes "
                                 f"here, or remove {self.path} if no job does") from None
        age = time.time() - beat
        same_host = host == socket.gethostname()
        # A requeued batch job (same job id, higher restart count) takes over its own earlier run's lock.
        requeued = other.get("job_id") == job_id() and not job_id().startswith("pid") \
            and restart_count() > int(other.get("restart", 0) or 0)
        if (same_host and not _pid_alive(pid)) or age > LOCK_STALE_S or requeued:
            log.warning("taking over the stale lock %s (job %s on %s, pid %s, last heartbeat %.0f s ago%s)",
                        self.path, other.get("job_id"), host, pid, age,
                        f"; this is the same job, requeued ({restart_count()} restart(s))" if requeued else "")
            self.path.unlink(missing_ok=True)
            return
        raise RunFolderError(f"{self.path.parent} is in use by job {other.get('job_id')} on {host} (pid {pid}), "
                             f"last heartbeat {age:.0f} s ago; wait for it, or remove {self.path} if that job "
                             "is gone")

    def heartbeat(self) -> None:
        if self._held and time.monotonic() - self._beat >= HEARTBEAT_S:
            tmp = self.path.with_name(LOCK + ".tmp")
            tmp.write_bytes(self._content())
            os.replace(tmp, self.path)
            self._beat = time.monotonic()

    def release(self) -> None:
        if self._held:
            self.path.unlink(missing_ok=True)
            self._held = False
