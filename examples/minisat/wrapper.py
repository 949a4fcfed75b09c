#!/usr/bin/env python3
"""minisat in the AClib / SMAC2 wrapper convention:

    wrapper.py INSTANCE INSTANCE_INFO CUTOFF RUNLENGTH SEED -var-decay 0.9 -luby off ...

runs minisat on INSTANCE (relative to this folder, or absolute) with those options, and prints
`Result of this algorithm run: SAT|UNSAT|TIMEOUT|CRASHED, runtime, 0, 0, SEED`. mpismac
measures the runtime itself and stops the run at its cutoff; minisat's own CPU limit is a
second guard.
"""

import math
import subprocess
import sys
import time
from pathlib import Path

SWITCHES = ("luby", "rnd-init", "pre", "elim")  # on/off options: -luby / -no-luby


def main(argv: list[str]) -> None:
    instance, _info, cutoff, _runlength, seed = argv[:5]
    path = Path(instance) if Path(instance).is_absolute() else Path(__file__).resolve().parent / instance
    options = []
    pairs = argv[5:]
    for name, value in zip(pairs[0::2], pairs[1::2], strict=True):
        name = name.lstrip("-")
        options.append(f"-{name}" if name in SWITCHES and value == "on" else
                       f"-no-{name}" if name in SWITCHES else f"-{name}={value}")
    limit = min(2**31 - 1, math.ceil(float(cutoff)) + 1)
    command = ["minisat", "-verb=0", f"-cpu-lim={limit}", f"-rnd-seed={int(seed) + 1}", *options, str(path)]
    start = time.time()
    code = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    status = {10: "SAT", 20: "UNSAT"}.get(code, "TIMEOUT" if code == 0 else "CRASHED")
    print(f"Result of this algorithm run: {status}, {time.time() - start:.4f}, 0, 0, {seed}")


if __name__ == "__main__":
    main(sys.argv[1:])
