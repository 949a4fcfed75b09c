"""SMAC3's documented scripts on SMAC3 and on `mpismac.smac` (one import line changed): the
validated cost of the incumbent and the wall time, per script, medians over seeds.

    .venv/bin/python benchmarks/smac3_scripts.py --seeds 5

The scripts are tests/data/smac3_scripts/*.py (quickstart, ask-and-tell, an SVM over a
conditional space, cross-validation folds as instances); each picks the API from its first
argument. Each runs serially with both, and with mpismac under `mpiexec -n 4` (three workers).
The validated cost is `facade.validate(incumbent)`: the target on seeds the run did not use.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE.parent / "tests" / "data" / "smac3_scripts"
MPIEXEC = Path(sys.executable).parent / "mpiexec"
NAMES = ("quickstart", "ask_and_tell", "svm_conditional", "instances")


def run(script: str, api: str, seed: int, ranks: int = 1) -> tuple[float, float]:
    """(validated incumbent cost, wall seconds) of one run."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, str(SCRIPTS / f"{script}.py"), api, out, str(seed)]
        if ranks > 1:
            cmd = [str(MPIEXEC), "-n", str(ranks), *cmd]
        start = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        wall = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"{script} {api} seed {seed} failed:\n{proc.stderr[-2000:]}")
    text = proc.stdout
    result = json.JSONDecoder().raw_decode(text, text.index('{"incumbent"'))[0]
    return float(result["cost"]), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--scripts", default=",".join(NAMES))
    args = parser.parse_args()
    print("| script | SMAC3 cost | mpismac cost | mpismac, mpiexec -n 4 cost | wall: mpismac / SMAC3 | "
          "wall: mpiexec -n 4 / SMAC3 |")
    print("|---|---|---|---|---|---|")
    for script in args.scripts.split(","):
        rows = {key: [run(script, api, seed, ranks) for seed in range(args.seeds)]
                for key, api, ranks in (("smac", "smac", 1), ("ours", "mpismac", 1), ("mpi", "mpismac", 4))}
        cost = {k: statistics.median(c for c, _ in v) for k, v in rows.items()}
        ratio = {k: statistics.median(w / s for (_, w), (_, s) in zip(v, rows["smac"], strict=True))
                 for k, v in rows.items()}
        print(f"| {script} | {cost['smac']:.4g} | {cost['ours']:.4g} | {cost['mpi']:.4g} | "
              f"{ratio['ours']:.2f} | {ratio['mpi']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
