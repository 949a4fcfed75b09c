"""Runtimes: how trials get to trial processes (serial now; MPI master-worker and pSMAC later)."""
