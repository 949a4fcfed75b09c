"""Runs shared in pSMAC: what a finished run travels as (between ranks, as JSON), and the reader
of other jobs' run folders (`psmac.input_dirs`)."""

from __future__ import annotations

import glob
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ConfigSpace import ConfigurationSpace

from .. import yamlio
from ..space import configspace_to_json
from ..trial import TrialValue
from .folder import SCENARIO, RunFolderError, load_run, parts
from .runhistory import RunHistory, TrialRecord

log = logging.getLogger("mpismac")


@dataclass(frozen=True)
class SharedRun:
    """A finished trial as another optimizer takes it: values, not ids (its configuration and
    trial ids are those of the run where it ran, `trial` and `rank`). Travels between ranks as
    JSON (`to_json`)."""

    values: dict[str, Any]
    origin: str
    instance: str | None
    seed: int
    budget: float | None
    value: TrialValue
    trial: int
    rank: int

    @classmethod
    def of(cls, rh: RunHistory, r: TrialRecord) -> SharedRun:
        return cls(rh.configs[r.config_id], rh.origins[r.config_id], r.instance, r.seed, r.budget,
                   TrialValue(r.cost, r.status, r.start_time, r.end_time, r.additional_info), r.trial_id,
                   r.origin_rank)

    def to_json(self) -> dict[str, Any]:
        return {"values": self.values, "origin": self.origin, "instance": self.instance, "seed": self.seed,
                "budget": self.budget, **self.value.to_json(), "trial": self.trial, "rank": self.rank}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SharedRun:
        return cls(dict(d["values"]), str(d["origin"]), d["instance"], int(d["seed"]),
                   None if d["budget"] is None else float(d["budget"]), TrialValue.from_json(d), int(d["trial"]),
                   int(d["rank"]))


def own_finished(rh: RunHistory) -> list[TrialRecord]:
    """The trials a run (or part) made itself and finished: what it shares."""
    return [r for r in rh.trials.values() if not r.shared and r.cost]


class ForeignRuns:
    """Reads other jobs' run folders (whole runs or pSMAC parts) matched by globs, and hands out
    the finished runs not handed out before. A folder that cannot be read, or holds another
    configuration space or other objectives, is skipped with one warning."""

    def __init__(self, patterns: tuple[str, ...], own_dir: Path, configspace_json: str,
                 objectives: tuple[str, ...]):
        self.patterns = patterns
        self.own_dir = Path(own_dir).resolve()
        self.configspace_json = configspace_json
        self.objectives = tuple(objectives)
        self._warned: set[tuple[str, str]] = set()

    def poll(self, seen: set[tuple[str, int]]) -> list[tuple[str, SharedRun]]:
        """(source, run) for every finished run whose (source, trial) is not in `seen`."""
        new: list[tuple[str, SharedRun]] = []
        for run_dir in self._folders():
            loaded = self._read(run_dir)
            found = [(src, SharedRun.of(rh, r)) for src, rh in loaded for r in own_finished(rh)
                     if (src, r.trial_id) not in seen]
            if found:
                log.debug("Loaded %d new runs from %s", len(found), run_dir)
            new.extend(found)
        return new

    def _folders(self) -> list[Path]:
        found = {Path(p).resolve() for pattern in self.patterns for p in glob.glob(pattern)}
        return sorted(p for p in found if p.is_dir() and p != self.own_dir)

    def _warn(self, run_dir: Path, why: str) -> None:
        if (str(run_dir), why) not in self._warned:
            self._warned.add((str(run_dir), why))
            log.warning("psmac.input_dirs: skipping %s: %s", run_dir, why)

    def _read(self, run_dir: Path) -> list[tuple[str, RunHistory]]:
        if not (run_dir / SCENARIO).is_file():
            self._warn(run_dir, f"not an mpismac run folder (yet): no {SCENARIO}")
            return []
        try:
            raw = yamlio.load((run_dir / SCENARIO).read_text())
            theirs = configspace_to_json(ConfigurationSpace.from_serialized_dict(raw["configspace"]))
        except Exception as exc:  # anything in a foreign file: skip it, never crash the run
            self._warn(run_dir, f"unreadable {SCENARIO} ({exc})")
            return []
        if theirs != self.configspace_json:
            self._warn(run_dir, "another configuration space")
            return []
        if tuple(raw.get("objectives") or ()) != self.objectives:
            self._warn(run_dir, f"other objectives ({raw.get('objectives')})")
            return []
        out = []
        for part in parts(run_dir) or [""]:
            try:
                rh = load_run(run_dir, part).state.runhistory
            except (RunFolderError, OSError) as exc:  # e.g. a journal record off the space: does not replay
                self._warn(run_dir, str(exc))
                continue
            except Exception as exc:  # anything else in a foreign folder: skip it, never crash the run
                self._warn(run_dir, f"unreadable ({type(exc).__name__}: {' '.join(str(exc).split())})")
                continue
            out.append((f"{run_dir}#{part}" if part else str(run_dir), rh))
        return out
