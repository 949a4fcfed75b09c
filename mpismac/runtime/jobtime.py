"""When the batch job this run is part of will be killed, if the scheduler says.

Order: `MPISMAC_JOB_END_TIME` (Unix time; for any scheduler, and for tests), SLURM's
`SLURM_JOB_END_TIME` (set by Slurm 23.02 and newer), then `scontrol show job` (older Slurm).
None when there is no known end: the run then stops on signals and its own limits only.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time

log = logging.getLogger("mpismac")


def _from_scontrol(job_id: str) -> float | None:
    try:
        out = subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for field in out.split():
        if field.startswith("EndTime="):
            value = field.split("=", 1)[1]
            try:
                return time.mktime(time.strptime(value, "%Y-%m-%dT%H:%M:%S"))
            except ValueError:  # "Unknown", "None": no time limit
                return None
    return None


def job_end_time() -> float | None:
    """The job's end as Unix time, or None."""
    for var in ("MPISMAC_JOB_END_TIME", "SLURM_JOB_END_TIME"):
        value = os.environ.get(var, "").strip()
        if value:
            try:
                end = float(value)
            except ValueError:
                log.warning("ignoring %s=%r: not a Unix time", var, value)
                continue
            return end if end > 0 else None
    job_id = os.environ.get("SLURM_JOB_ID")
    return _from_scontrol(job_id) if job_id else None
