"""The append-only journal: the run's source of truth.

One record per line: compact JSON, a tab, and the CRC-32 of the JSON text in 8 hex digits.
Records are written with one `write` each and fsync'd at checkpoints. A reader stops cleanly at
a torn last record (a kill during the write); a bad record with good ones after it is skipped
with a warning. The format is documented in docs/run-folder.md.
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

JOURNAL_FORMAT = "mpismac-journal"
JOURNAL_VERSION = 1


def encode(record: dict[str, Any]) -> bytes:
    text = json.dumps(record, separators=(",", ":"), default=repr).encode()
    return text + b"\t%08x\n" % zlib.crc32(text)


def decode(line: bytes) -> dict[str, Any] | None:
    """The record of one complete line, or None if its checksum does not match."""
    text, sep, crc = line.rstrip(b"\n").rpartition(b"\t")
    if not sep or len(crc) != 8:
        return None
    try:
        if int(crc, 16) != zlib.crc32(text):
            return None
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


@dataclass(frozen=True)
class JournalRead:
    records: list[dict[str, Any]]
    offsets: list[int]  # where each record starts in the file
    end: int  # offset just past the last good record: where appending continues
    skipped: int  # bad records with good ones after them
    torn: bool  # whether a torn tail was ignored


def read_journal(path: Path, start: int = 0) -> JournalRead:
    """Every good record from byte offset `start` on."""
    try:
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read()
    except FileNotFoundError:
        return JournalRead([], [], start, 0, False)
    records: list[dict[str, Any]] = []
    offsets: list[int] = []
    end, skipped, pending_bad, pos = start, 0, 0, 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        if nl < 0:
            break  # an incomplete last line: torn
        record = decode(data[pos:nl + 1])
        at, pos = start + pos, nl + 1
        if record is None:
            pending_bad += 1
            continue
        skipped += pending_bad
        pending_bad = 0
        records.append(record)
        offsets.append(at)
        end = start + pos
    torn = end < start + len(data)
    if skipped:
        log.warning("%s: skipped %d damaged record(s) in the middle of the journal", path, skipped)
    return JournalRead(records, offsets, end, skipped, torn)


class WriteObserver(Protocol):
    """Told of every write to a run folder (journal appends and syncs, snapshot swaps): `begin`,
    `middle` (halfway: a journal record half written, a snapshot half built, then written but
    not swapped in) and `end`. The kill tests pass one in to land kills inside writes."""

    def begin(self, kind: str) -> None: ...

    def middle(self) -> None: ...

    def end(self, kind: str, detail: Any = None) -> None: ...


class JournalWriter:
    """Appends records; `sync` makes everything appended so far durable."""

    def __init__(self, path: Path, end: int | None = None, observer: WriteObserver | None = None):
        """Open for appending; `end` (from `read_journal`) cuts off a torn tail first."""
        self.path = Path(path)
        self.observer = observer
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
        if end is not None:
            os.ftruncate(self._fd, end)
        self.offset = os.lseek(self._fd, 0, os.SEEK_END)
        self._unsynced = False
        if self.offset == 0:
            self.append({"op": "format", "format": JOURNAL_FORMAT, "version": JOURNAL_VERSION})
            self.sync()

    def append(self, record: dict[str, Any]) -> None:
        data = encode(record)
        if self.observer is None:
            self._write(data)
        else:  # the record goes out in two halves, the observer told between them
            self.observer.begin("append")
            self._write(data[:len(data) // 2])
            self.observer.middle()
            self._write(data[len(data) // 2:])
            self.observer.end("append")
        self.offset += len(data)
        self._unsynced = True

    def _write(self, data: bytes) -> None:
        written = os.write(self._fd, data)
        while written < len(data):  # short writes only happen on full disks or signals
            written += os.write(self._fd, data[written:])

    def sync(self) -> None:
        if self._unsynced:
            os.fsync(self._fd)
            self._unsynced = False

    def close(self) -> None:
        if self._fd >= 0:
            self.sync()
            os.close(self._fd)
            self._fd = -1
