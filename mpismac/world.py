"""Which MPI world a front end (the command line, the SMAC3 API) runs in, read from the launcher's
environment so that a serial run never imports mpi4py."""

from __future__ import annotations

import os

from .errors import ReportedElsewhere, UserError


def launched_ranks() -> int:
    """How many ranks the MPI launcher started, from its environment (mpi4py is not imported)."""
    for var in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "PMIX_SIZE"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return 1


def step_tasks() -> int:
    """Tasks in this SLURM job step (srun), 1 outside one. A batch script's own step counts 1."""
    value = os.environ.get("SLURM_STEP_NUM_TASKS", "")
    return int(value) if value.isdigit() else 1


def world():
    """COMM_WORLD when the launcher started several ranks, else None (a serial run, no MPI import).
    A SLURM step of several tasks in which MPI sees one rank each (srun with the wrong --mpi for
    this MPI library) would start that many separate runs: refused with a clear message."""
    tasks = step_tasks()
    if launched_ranks() <= 1 and tasks <= 1:
        return None
    from mpi4py import MPI

    if MPI.COMM_WORLD.Get_size() == 1 and tasks > 1:
        if os.environ.get("SLURM_PROCID", "0") != "0":
            raise ReportedElsewhere("reported by task 0")
        raise UserError(f"this SLURM step has {tasks} tasks (SLURM_STEP_NUM_TASKS={tasks}) but MPI sees one rank in "
                        f"each: srun and the MPI library do not use the same PMI, so {tasks} separate runs would "
                        "start. With MPICH from PyPI use `srun --mpi=pmi2` or `mpiexec -n $SLURM_NTASKS`; with "
                        "Open MPI `srun --mpi=pmix` or `mpirun` (see docs/hpc.md)")
    return MPI.COMM_WORLD
