"""SMAC3's `StatusType` (`smac.runhistory.enumerations`): our Status, which has SMAC3's codes."""

from __future__ import annotations

from ...trial import Status as StatusType

__all__ = ["StatusType"]
