"""The environment a trial process starts with: no MPI/PMI variables, pinned thread counts."""

from __future__ import annotations

from collections.abc import Mapping

# A target must never initialize MPI by accident: launchers talk to their ranks through these.
MPI_PREFIXES = ("PMI_", "PMIX_", "OMPI_", "MPICH_", "HYDRA_", "SLURM_STEP_", "I_MPI_", "MPIR_",
                "MPI_LOCAL")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def trial_environment(base: Mapping[str, str], threads: int,
                      extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in base.items() if not k.startswith(MPI_PREFIXES)}
    for name in THREAD_VARIABLES:
        env[name] = str(threads)
    env["PYTHONUNBUFFERED"] = "1"
    if extra:
        env.update(extra)
    return env
