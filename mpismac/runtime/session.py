"""A run folder opened for writing by this job: lock, resume-or-start, recorder, log file.

Opening reads and checks (the lock taken, the scenario compared, an earlier run read back) and
writes nothing else; `begin` writes the scenario down and opens the journal. A runtime starts
its trial process in between, so a target that does not load leaves no run behind.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import yaml

from .. import yamlio
from ..errors import ScenarioError, UserError
from ..runhistory import RunHistory
from ..runhistory.folder import (
    LOCK,
    LOGS,
    SCENARIO,
    Recorder,
    RunFolderError,
    RunLock,
    journal_name,
    load_run,
    parts,
)
from ..runhistory.journal import WriteObserver
from ..runhistory.state import RunState
from ..scenario import RESUMABLE_CHANGES, Scenario

log = logging.getLogger("mpismac")


class Session:
    """Everything a runtime writes through. Use as a context manager; call `begin` before writing."""

    def __init__(self, scenario: Scenario, fresh: bool = False, rank: int = 0, part: str = "",
                 primary: bool = True, observer: WriteObserver | None = None):
        """`part`: the pSMAC part this rank writes ("rank{R}"). The `primary` session (one per job)
        holds the lock, moves an old run aside with `fresh` and checks the scenario; in pSMAC the
        other ranks open their parts once it has. `observer` is told of every write."""
        self.scenario = scenario
        self.observer = observer
        self.dir = scenario.run_dir.resolve()
        self.part = part
        self.primary = primary
        self.lock: RunLock | None = None
        self.recorder: Recorder | None = None
        missing = [p for p in (self.dir, *self.dir.parents) if not p.exists()]
        self._created = missing[-1] if primary and missing else None  # removed again if the run never begins
        if primary:
            self._open_folder(fresh)
        (self.dir / LOGS).mkdir(exist_ok=True)
        logger = logging.getLogger("mpismac")
        self._level = logger.level
        if logger.level == logging.NOTSET:  # the run's own log gets INFO also when used as a library
            logger.setLevel(logging.INFO)
        self._handler = logging.FileHandler(self.dir / LOGS / f"rank{rank}.log")
        self._handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger("mpismac").addHandler(self._handler)
        try:
            self.state, self._journal_end = self._read_or_new()
        except BaseException:
            self.close()
            raise
        self.resumed = self._journal_end is not None

    def _open_folder(self, fresh: bool) -> None:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"{self.dir}: cannot create the run folder ({exc.strerror}); set "
                            "'output_directory' to a folder you can write") from None
        self.lock = RunLock(self.dir)
        self.lock.acquire()  # also before --fresh: never move a folder another job is writing
        if fresh and any(p.name != LOCK for p in self.dir.iterdir()):
            aside = self._aside_name()
            shutil.move(str(self.dir), aside)  # our lock moves with it: no moment without one
            (aside / LOCK).unlink()
            log.info("moved the previous run aside to %s", aside)
            self.dir.mkdir(parents=True)
            self.lock = RunLock(self.dir)
            self.lock.acquire()

    def _aside_name(self) -> Path:
        """`{seed}.old-{timestamp}`, with a counter when that name is taken (two --fresh in a second)."""
        base = self.dir.with_name(f"{self.dir.name}.old-{time.strftime('%Y%m%d-%H%M%S')}")
        aside, n = base, 1
        while aside.exists():
            aside, n = base.with_name(f"{base.name}-{n}"), n + 1
        return aside

    def _read_or_new(self) -> tuple[RunState, int | None]:
        """This session's state: new, or read back (a pSMAC rank new to the run starts new). The
        primary session checks the scenario first."""
        path = self.dir / SCENARIO
        new = RunState(RunHistory(self.scenario.configspace, self.scenario.objectives)), None
        if self.primary and not path.exists() and self._journals():
            raise UserError(f"{self.dir} holds a run whose {SCENARIO} is missing: restore it, or use --fresh "
                            "to start over (the old folder is moved aside)")
        if not path.exists():
            return new
        if self.primary and not self._check_scenario(path):
            return new
        if self.part and not (self.dir / journal_name(self.part)).exists():
            return new
        loaded = load_run(self.dir, self.part)
        rh = loaded.state.runhistory
        if self.scenario.n_trials < rh.n_own:
            raise UserError(f"{self.dir} already holds {rh.n_own} trials: n_trials ({self.scenario.n_trials}) "
                            "may grow on resume, not shrink below that")
        log.info("resuming %s%s: %d trials finished, %d to run again", self.dir,
                 f" ({self.part})" if self.part else "", len(rh.finished()) - rh.n_shared, len(rh.running()))
        return loaded.state, loaded.journal_end

    def _journals(self) -> list[Path]:
        return sorted(self.dir.glob("journal*.jsonl"))

    def _check_scenario(self, path: Path) -> bool:
        """Whether the run here goes on. A different scenario (the keys of RESUMABLE_CHANGES may
        differ) is refused, unless that run never finished a trial: then it is started over (a
        first start that failed, e.g. on a typo in the target, must not block the corrected one)."""
        try:
            previous = Scenario.from_dict(yamlio.load(path.read_text()), source=str(path))
        except (ScenarioError, yaml.YAMLError) as exc:
            changed, why = ["?"], f"its {SCENARIO} no longer reads ({exc})"
        else:
            changed = [k for k in self.scenario.changed_keys(previous) if k not in RESUMABLE_CHANGES]
            why = f"changed: {', '.join(changed)}"
        if not changed:
            return True
        if self._finished_trials() == 0:
            log.warning("%s held a run of another scenario (%s) that never finished a trial: starting over",
                        self.dir, why)
            for stale in [*self._journals(), *self.dir.glob("runhistory*.h5"), path]:
                stale.unlink()
            return False
        raise UserError(f"{self.dir} holds a run of a different scenario ({why}); only "
                        f"{', '.join(RESUMABLE_CHANGES)} may change on resume. Use --fresh to start over "
                        "(the old folder is moved aside), or another name or seed.")

    def _finished_trials(self) -> int:
        """Trials the run in this folder finished, over all its parts; -1 if it cannot be read."""
        try:
            return sum(len(load_run(self.dir, part).state.runhistory.finished())
                       for part in parts(self.dir) or [""])
        except (RunFolderError, OSError):
            return -1

    def begin(self) -> Recorder:
        """Write the scenario down (primary) and open this session's journal: from here on the
        folder holds the run."""
        if self.primary:
            (self.dir / SCENARIO).write_text(self.scenario.to_yaml())  # RESUMABLE_CHANGES may differ
        self.recorder = Recorder(self.dir, self.scenario.to_yaml(), self.state, self._journal_end,
                                 self.scenario.snapshot_interval, self.part, self.observer)
        return self.recorder

    def close(self) -> None:
        if self.recorder is not None:
            self.recorder.close()
        logging.getLogger("mpismac").setLevel(self._level)
        logging.getLogger("mpismac").removeHandler(self._handler)
        self._handler.close()
        if self.lock is not None:
            self.lock.release()
        if self.recorder is None and self._created is not None:  # a run that never began leaves no folder
            shutil.rmtree(self._created, ignore_errors=True)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
