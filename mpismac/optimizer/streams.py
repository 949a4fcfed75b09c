"""Random streams derived from (seed, purpose, index): proposal k draws the same numbers
whatever happened before it, which is what resume and reproducible runs rely on."""

from __future__ import annotations

import zlib

import numpy as np


def generator(seed: int, purpose: str, index: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(purpose.encode()), index])


def derived_int(seed: int, purpose: str, index: int = 0) -> int:
    """A 31-bit integer seed for libraries that take one (ConfigSpace, targets)."""
    return int(generator(seed, purpose, index).integers(2**31 - 1))
