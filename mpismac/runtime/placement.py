"""Where each worker sits: its index among the workers of its node, and the GPUs it gets."""

from __future__ import annotations


def local_index(hosts: list[str], rank: int, first: int = 1) -> int:
    """Index of `rank` among the ranks that run trials (`first`..N-1: 1 in master-worker, 0 in
    pSMAC) on the same host."""
    return sum(1 for r in range(first, rank) if hosts[r] == hosts[rank])


def trial_variables(rank: int, local: int, gpus_per_worker: int) -> dict[str, str]:
    """What a trial process of this worker is told: its rank, its node-local index, its GPUs."""
    env = {"MPISMAC_WORKER": str(rank), "MPISMAC_LOCAL_RANK": str(local)}
    if gpus_per_worker > 0:
        first = local * gpus_per_worker
        env["CUDA_VISIBLE_DEVICES"] = ",".join(str(d) for d in range(first, first + gpus_per_worker))
    return env
