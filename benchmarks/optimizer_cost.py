"""Optimizer CPU time per trial over whole runs (Hartmann6, cheap target), mpismac `hpo` vs
SMAC3's HPO facade, at growing budgets.

    .venv/bin/python benchmarks/optimizer_cost.py --trials 100,1000,5000 --smac-trials 100,1000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import run_mpismac, run_smac  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", default="100,1000,5000")
    parser.add_argument("--smac-trials", default="100,1000")
    parser.add_argument("--problem", default="hartmann6")
    args = parser.parse_args()
    print(f"{args.problem}, one run per budget, optimizer CPU per trial (total / trials)\n")
    print("| trials | mpismac hpo | SMAC3 hpo | ratio |")
    print("|---|---|---|---|")
    smac_budgets = {int(t) for t in args.smac_trials.split(",") if t}
    for n in (int(t) for t in args.trials.split(",")):
        _, mine = run_mpismac("hpo", args.problem, 0, n)
        theirs = run_smac("hpo", args.problem, 0, n)[1] if n in smac_budgets else None
        cells = [f"{mine * 1e3:.1f} ms", f"{theirs * 1e3:.0f} ms" if theirs else "–",
                 f"{mine / theirs:.3f}" if theirs else "–"]
        print(f"| {n} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
