"""Errors that reach the user as a message and exit status 2, never as a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A mistake the user can fix: bad scenario, bad command line, unusable run folder."""


class ScenarioError(UserError):
    """One or more problems in a scenario, each naming where (file) and which key."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = [f"{source}: key '{key}': {why}" if key else f"{source}: {why}" for key, why in problems]
        super().__init__("\n".join(lines))


class TargetLoadError(UserError):
    """The target could not be imported or started."""


class ReportedElsewhere(UserError):
    """A user mistake that another rank (rank 0) reports; this rank exits 2 without a message."""


class StartCancelled(Exception):
    """Not a user mistake: a stop was requested (a signal, Ctrl-C) while a trial process was still
    importing the target, so it was killed before it was ready. A runtime ends as it does for any
    stop (exit status 3, resumable); the run may not have begun at all."""
