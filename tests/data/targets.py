"""Targets for the tests: one per way a trial can go."""

import math
import os
import signal
import subprocess
import sys
import time


def quadratic(config, seed: int = 0):
    return (config["x"] - 1.0) ** 2 + (config["y"] - 2.0) ** 2


def zero(config):
    return 0.0


def raises(config):
    raise RuntimeError("boom from the target")


def nan(config):
    return math.nan


def not_a_number(config):
    return "fast"


def exits(config):
    sys.exit(3)


def hard_exit(config):
    os._exit(7)


def segfault(config):
    os.kill(os.getpid(), signal.SIGSEGV)


def hangs(config):
    time.sleep(1000)


def hogs_memory(config):
    blocks = []
    for _ in range(200):  # touches 50 MiB at a time, up to 10 GiB
        blocks.append(b"x" * (50 * 2**20))
        time.sleep(0.01)


def grandchild_hangs(config):
    child = subprocess.Popen(["sleep", "1000"])
    with open(os.environ["GRANDCHILD_PID_FILE"], "w") as f:
        f.write(str(child.pid))
    time.sleep(1000)


def leaves_grandchild(config):
    child = subprocess.Popen(["sleep", "1000"])
    with open(os.environ["GRANDCHILD_PID_FILE"], "w") as f:
        f.write(str(child.pid))
    return 1.0


def environment(config):
    leaked = sorted(k for k in os.environ if k.startswith(("PMI_", "OMPI_", "HYDRA_", "MPICH_", "PMIX_")))
    return 0.0, {"leaked": leaked, "omp": os.environ.get("OMP_NUM_THREADS"), "pgid": os.getpgid(0),
                 "pid": os.getpid()}


def prints(config):
    print("hello from the target", config["x"])
    return 1.0


def with_info(config, seed, instance, budget):
    return [config["x"], config["y"]], {"seed": seed, "instance": instance, "budget": budget}


def by_name(config):
    return {"loss": config["x"], "time": config["y"]}


def sleepy(config):
    time.sleep(0.3)
    return quadratic(config)


def drowsy(config):
    """Longer than rank 0's pauses for a proposal on a loaded machine: a trial is in flight at any moment."""
    time.sleep(0.8)
    return quadratic(config)


def mixed(config):
    """Fails in a different way depending on where x falls; succeeds on most of the space."""
    x = config["x"]
    modes = [raises, nan, not_a_number, exits, hard_exit, segfault, hangs, hogs_memory]
    slot = int((x + 5.0) / 15.0 * 16)  # 16 slots over [-5, 10]; the first 8 fail
    if slot < len(modes):
        return modes[slot](config)
    return quadratic(config)


def jittery(config):
    """Sleeps a truly random time (not from the run's seed), then a deterministic cost."""
    time.sleep(int.from_bytes(os.urandom(2), "little") / 65535 * 0.15)
    return quadratic(config)


def placement(config):
    time.sleep(0.2)
    return 0.0, {k: os.environ.get(k) for k in ("MPISMAC_WORKER", "MPISMAC_LOCAL_RANK", "CUDA_VISIBLE_DEVICES")}



def stragglers(config):
    """Half the configurations are slow, so later trials finish before earlier ones."""
    time.sleep(1.5 if config["x"] < 2.5 else 0.05)
    return quadratic(config)


def on_instances(config, seed: int = 0, instance: str | None = None):
    """Cost per instance; crashes on a corner of the space (so exports hold failures too)."""
    if config["x"] > 8.5:
        raise RuntimeError("x too large")
    return (config["x"] - 2.0) ** 2 + config["y"] / 10 + int((instance or "i0")[1:])


def brief(config):
    time.sleep(0.02)
    return quadratic(config)


def slowish(config):
    time.sleep(1.0)
    return quadratic(config)


def scribbles_on_fds(config):
    """Writes garbage to the file descriptors it inherited: 3..63, or (x < 0) every one up to 1023."""
    for fd in range(3, 1024 if config["x"] < 0 else 64):
        try:
            os.write(fd, b"garbage\n")
        except OSError:
            pass
    return quadratic(config)


def minus_inf(config):
    return -math.inf


def two_objectives(config):
    """Distances to two points of the branin space: the Pareto front is the segment between them."""
    x, y = config["x"], config["y"]
    return {"near": (x - 2.0) ** 2 + (y - 5.0) ** 2, "far": (x + 3.0) ** 2 + (y - 10.0) ** 2}


def two_objectives_jittery(config):
    """`two_objectives` after a truly random sleep (not from the run's seed)."""
    time.sleep(int.from_bytes(os.urandom(2), "little") / 65535 * 0.1)
    return two_objectives(config)


def two_objectives_slow(config):
    time.sleep(0.25)
    return two_objectives(config)


HEAVY_PACKAGES = ("sklearn", "scipy", "h5py", "numpy", "matplotlib")


def rank_libraries(config):
    """0.0, with the heavy packages whose shared objects the rank that started this trial
    process (its parent) has mapped: the package's folder (or its `.libs`) in /proc/PPID/maps."""
    time.sleep(0.3)  # long enough for every worker to get a trial
    rank = os.getppid()
    with open(f"/proc/{rank}/maps") as f:
        parts = {part for line in f for part in line.split("/")[1:]}
    found = sorted(name for name in HEAVY_PACKAGES if name in parts or f"{name}.libs" in parts)
    return 0.0, {"rank_pid": rank, "rank_packages": found}


def epochs(config, seed: int = 0, budget: float = 1.0, checkpoint=None):
    """Multi-fidelity: 'trains' for `budget` epochs toward a quadratic's value, continuing from
    its saved epoch count when `checkpoint` says where (MF_STATE_DIR), and appends the epochs it
    actually trained to MF_STATE_DIR/trained.log. An epoch takes MF_SLEEP seconds (default 4 ms),
    and a trial up to 20 ms more, so that results arrive out of order."""
    import json
    import os
    from pathlib import Path

    state_dir = Path(os.environ["MF_STATE_DIR"])
    done = 0
    state = state_dir / f"{checkpoint.key}.json" if checkpoint is not None else None
    if state is not None and checkpoint.budget is not None and state.exists():
        done = json.loads(state.read_text())["epochs"]
        assert done == checkpoint.budget, (done, checkpoint.budget)
    target = int(round(budget))
    with open(state_dir / "trained.log", "a") as f:
        f.write(f"{target - done}\n")
    if state is not None:
        state.write_text(json.dumps({"epochs": target}))
    time.sleep(float(os.environ.get("MF_SLEEP", "0.004")) * (target - done) + 0.01 * (hash(checkpoint) % 3))
    x, y = config["x"], config["y"]
    return (x - 0.3) ** 2 + (y - 0.6) ** 2 + 2.0 / target
