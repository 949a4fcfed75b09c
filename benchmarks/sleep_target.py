"""Branin that sleeps: a stand-in for an expensive evaluation in the parallel benchmarks."""

import math
import os
import time


def branin_sleep(config, seed: int = 0) -> float:
    time.sleep(float(os.environ.get("SLEEP_S", "0.5")))
    x, y = config["x"], config["y"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (y - b * x**2 + c * x - 6) ** 2 + 10 * (1 - t) * math.cos(x) + 10


def hartmann6_sleep(config, seed: int = 0) -> float:
    """Hartmann6 (minimum -3.32237) after sleeping SLEEP_S seconds."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from problems import hartmann6

    time.sleep(float(os.environ.get("SLEEP_S", "1.0")))
    return hartmann6(config)


def drifting(config, seed: int = 0) -> float:
    """PROBLEM (hartmann6 or ackley5) after sleeping a random 0.2-2 s, so parallel ranks drift apart."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from problems import PROBLEMS

    time.sleep(0.2 + 1.8 * int.from_bytes(os.urandom(4), "little") / 2**32)
    return PROBLEMS[os.environ["PROBLEM"]][1](config)
