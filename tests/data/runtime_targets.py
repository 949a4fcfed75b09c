"""Targets whose runtime is the point: CPU spent here or in a child process, or none at all."""

import subprocess
import sys
import time

FACTOR = {"a": 1.0, "b": 1.5, "c": 2.0, "d": 3.0}  # instances differ in hardness


def burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def spin(config, instance=None, seed=0):
    """CPU-bound in this process: t seconds, times the instance's factor."""
    burn(float(config["t"]) * FACTOR.get(instance, 1.0))


def spin_child(config, instance=None, seed=0):
    """CPU-bound in a child process (a solver started by a wrapper)."""
    seconds = float(config["t"]) * FACTOR.get(instance, 1.0)
    subprocess.run([sys.executable, "-c", f"import time\nend = time.process_time() + {seconds}\n"
                    "while time.process_time() < end: pass"], check=True)


def nap(config, instance=None, seed=0):
    """Waits without computing."""
    time.sleep(float(config["t"]))


def capped_sleeper(config, instance, seed=0, cutoff=None):
    """SMAC3's adaptive-capping example, faster: sleeps (x0 * instance + x1) / 20 seconds, at
    most `cutoff`, and appends the cutoff it got to $CUTOFFS; returns the time it slept."""
    import os

    with open(os.environ["CUTOFFS"], "a") as f:
        f.write(f"{cutoff}\n")
    seconds = (config["x0"] * int(instance) + config["x1"]) / 20
    time.sleep(min(seconds, cutoff if cutoff is not None else seconds))
    return seconds
