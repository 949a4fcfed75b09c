"""Branin that sleeps: a stand-in for an expensive evaluation in the parallel benchmarks."""

import math
import os
import time


def branin(config) -> float:
    x, y = config["x"], config["y"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (y - b * x**2 + c * x - 6) ** 2 + 10 * (1 - t) * math.cos(x) + 10


def branin_sleep(config, seed: int = 0) -> float:
    time.sleep(float(os.environ.get("SLEEP_S", "0.5")))
    return branin(config)


def mf_branin(config, seed: int = 0, budget: float = 27.0) -> float:
    """Branin, rougher at small budgets, after sleeping budget / 27 x SLEEP_S seconds; the trial's
    start and end go to a file of this process in MF_TIMES_DIR (mf_utilization.py)."""
    start = time.time()
    time.sleep(float(budget) / 27.0 * float(os.environ.get("SLEEP_S", "2.7")))
    end = time.time()
    with open(os.path.join(os.environ["MF_TIMES_DIR"], f"{os.getpid()}.txt"), "a") as fh:
        fh.write(f"{start} {end}\n")
    return branin(config) + 5.0 * (1 - float(budget) / 27.0) * math.sin(7 * config["x"])


def mf_branin_dehb(config, fidelity: float, **kwargs) -> dict:
    """mf_branin in DEHB's convention."""
    t0 = time.time()
    cost = mf_branin(config, budget=fidelity)
    return {"fitness": cost, "cost": time.time() - t0}


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


def zdt1_sleep(config, seed: int = 0) -> list[float]:
    """ZDT1 over x0..x{n-1} after sleeping SLEEP_S seconds (two objectives)."""
    time.sleep(float(os.environ.get("SLEEP_S", "0.5")))
    x = [config[f"x{i}"] for i in range(len(config))]
    g = 1 + 9 * sum(x[1:]) / (len(x) - 1)
    return [x[0], g * (1 - math.sqrt(x[0] / g))]


def dtlz2_sleep(config, seed: int = 0) -> list[float]:
    """DTLZ2 with three objectives over x0..x{n-1} after sleeping SLEEP_S seconds."""
    time.sleep(float(os.environ.get("SLEEP_S", "0.5")))
    x = [config[f"x{i}"] for i in range(len(config))]
    g = sum((v - 0.5) ** 2 for v in x[2:])
    a, b = x[0] * math.pi / 2, x[1] * math.pi / 2
    return [(1 + g) * math.cos(a) * math.cos(b), (1 + g) * math.cos(a) * math.sin(b), (1 + g) * math.sin(a)]


HEAVY = ("sklearn", "scipy", "h5py", "ConfigSpace", "numpy", "matplotlib", "mpi4py", "yaml")


def modules_sleep(config, seed: int = 0):
    """Branin after sleeping SLEEP_S seconds, with the heavy packages this trial process has
    loaded and its resident memory in `additional_info` (benchmarks/worker_memory.py)."""
    import sys

    with open("/proc/self/statm") as f:
        rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    loaded = [name for name in HEAVY if name in sys.modules]
    return branin_sleep(config, seed), {"heavy_modules": loaded, "trial_rss_mib": round(rss / 2**20, 1)}
