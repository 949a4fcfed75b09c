"""Every message between the manager (rank 0) and the workers, in one place.

Payloads are plain dicts of values (configurations travel as their values, never as objects):

    READY    worker -> manager  {"host", "pid", "error"}   the trial process started (or why not)
    TRIAL    manager -> worker  TrialRequest.to_dict()     run this trial
    RESULT   worker -> manager  value_to_dict(TrialValue) plus "trial_id"
    SIGNAL   worker -> manager  {"signal"}                 this rank was told to stop (TERM/INT/USR1)
    STOP     manager -> worker  None                       cut the running trial short and finish
    STOPPED  worker -> manager  None                       the worker's last message
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from ..trial import Status, TrialValue


class Tag(IntEnum):
    READY = 1
    TRIAL = 2
    RESULT = 3
    SIGNAL = 4
    STOP = 5
    STOPPED = 6


def value_to_dict(trial_id: int, value: TrialValue) -> dict[str, Any]:
    return {"trial_id": trial_id, "cost": list(value.cost), "status": int(value.status),
            "start": value.start_time, "end": value.end_time, "info": value.additional_info}


def value_from_dict(d: dict[str, Any]) -> TrialValue:
    return TrialValue(tuple(d["cost"]), Status(d["status"]), d["start"], d["end"], d["info"])
