"""A run folder opened for writing by this job: lock, resume-or-start, recorder, log file."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import yaml

from ..errors import ScenarioError, UserError
from ..runhistory import RunHistory
from ..runhistory.folder import LOCK, LOGS, SCENARIO, Recorder, RunLock, journal_name, load_run
from ..runhistory.replay import ReplayState
from ..scenario import RESUMABLE_CHANGES, Scenario

log = logging.getLogger("mpismac")


class Session:
    """Everything a runtime writes through. Use as a context manager."""

    def __init__(self, scenario: Scenario, fresh: bool = False, rank: int = 0, part: str = "",
                 primary: bool = True):
        """`part`: the pSMAC part this rank writes ("rank{R}"). The `primary` session (one per job)
        holds the lock, moves an old run aside with `fresh` and checks the scenario; in pSMAC the
        other ranks open their parts once it has."""
        self.scenario = scenario
        self.dir = scenario.run_dir.resolve()
        self.part = part
        self.primary = primary
        self.lock: RunLock | None = None
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
            state, journal_end = self._resume_or_start()
        except BaseException:
            self.close()
            raise
        self.resumed = journal_end is not None
        self.state = state
        self.recorder = Recorder(self.dir, scenario.to_yaml(), state, journal_end,
                                 scenario.snapshot_interval, part)

    def _open_folder(self, fresh: bool) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.lock = RunLock(self.dir)
        self.lock.acquire()  # also before --fresh: never move a folder another job is writing
        if fresh and any(p.name != LOCK for p in self.dir.iterdir()):
            aside = self.dir.with_name(f"{self.dir.name}.old-{time.strftime('%Y%m%d-%H%M%S')}")
            shutil.move(str(self.dir), aside)  # our lock moves with it: no moment without one
            (aside / LOCK).unlink()
            log.info("moved the previous run aside to %s", aside)
            self.dir.mkdir(parents=True)
            self.lock = RunLock(self.dir)
            self.lock.acquire()

    def _resume_or_start(self) -> tuple[ReplayState, int | None]:
        """This session's state: new, or read back (a pSMAC rank new to the run starts new). The
        primary session checks the scenario first and writes it down last."""
        path = self.dir / SCENARIO
        state, journal_end = ReplayState(RunHistory(self.scenario.configspace, self.scenario.objectives)), None
        exists = path.exists()
        if self.primary and exists:
            self._check_scenario(path)
        if exists and (not self.part or (self.dir / journal_name(self.part)).exists()):
            loaded = load_run(self.dir, self.part)
            rh = loaded.state.runhistory
            if self.scenario.n_trials < rh.n_own:
                raise UserError(f"{self.dir} already holds {rh.n_own} trials: n_trials ({self.scenario.n_trials}) "
                                "may grow on resume, not shrink below that")
            log.info("resuming %s%s: %d trials finished, %d to run again", self.dir,
                     f" ({self.part})" if self.part else "", len(rh.finished()) - rh.n_shared, len(rh.running()))
            state, journal_end = loaded.state, loaded.journal_end
        if self.primary:
            path.write_text(self.scenario.to_yaml())  # the keys of RESUMABLE_CHANGES may differ
        return state, journal_end

    def _check_scenario(self, path: Path) -> None:
        """Refuse to resume a different scenario (the keys of RESUMABLE_CHANGES may differ)."""
        try:
            previous = Scenario.from_dict(yaml.safe_load(path.read_text()), source=str(path))
        except (ScenarioError, yaml.YAMLError) as exc:
            raise UserError(f"{path}: the run in this folder cannot be resumed: {exc}") from None
        changed = [k for k in self.scenario.changed_keys(previous) if k not in RESUMABLE_CHANGES]
        if changed:
            raise UserError(f"{self.dir} holds a run of a different scenario (changed: {', '.join(changed)}); "
                            f"only {', '.join(RESUMABLE_CHANGES)} may change on resume. Use --fresh to "
                            "start over (the old folder is moved aside), or another name or seed.")

    def close(self) -> None:
        if hasattr(self, "recorder"):
            self.recorder.close()
        if self.lock is not None:
            self.lock.release()
        logging.getLogger("mpismac").setLevel(self._level)
        logging.getLogger("mpismac").removeHandler(self._handler)
        self._handler.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
