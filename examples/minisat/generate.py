"""Instances for the minisat example: two families of SAT formulas, each split into a training
and a test set, with the instance lists and a feature file the scenarios read.

    python generate.py [--n 50] [--seed 0]

- `uf`: uniform random 3-SAT at the phase transition (m = 4.26 n clauses): the hardest random
  formulas for their size, half of them satisfiable.
- `flat`: graph 3-colouring of random flat graphs (a planted colouring, so every formula is
  satisfiable), encoded to CNF: structured, with many symmetric solutions.

Instance names are paths relative to this folder (wrapper.py resolves them), so the lists work
wherever the folder is.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SIZES = {"uf": 230, "flat": 550}  # variables (uf) and vertices (flat): the default minisat takes ~0.1-2 s


def uniform_3sat(n: int, rng: np.random.Generator) -> list[list[int]]:
    """m = 4.26 n clauses of 3 distinct variables, each negated with probability 1/2."""
    clauses = []
    for _ in range(round(4.26 * n)):
        variables = rng.choice(n, size=3, replace=False) + 1
        signs = rng.choice([-1, 1], size=3)
        clauses.append([int(v * s) for v, s in zip(variables, signs, strict=True)])
    return clauses


def flat_colouring(vertices: int, rng: np.random.Generator, degree: float = 4.6) -> list[list[int]]:
    """3-colouring of a random graph with a planted colouring (edges only between colours),
    at the average degree where such graphs are hardest; variable 3v+c+1: vertex v has colour c."""
    colour = rng.integers(0, 3, size=vertices)
    edges: set[tuple[int, int]] = set()
    while len(edges) < round(degree * vertices / 2):
        a, b = (int(x) for x in rng.integers(0, vertices, size=2))
        if colour[a] != colour[b]:
            edges.add((min(a, b), max(a, b)))
    var = lambda v, c: 3 * v + c + 1  # noqa: E731
    clauses = [[var(v, 0), var(v, 1), var(v, 2)] for v in range(vertices)]
    clauses += [[-var(v, c), -var(v, d)] for v in range(vertices) for c in range(3) for d in range(c + 1, 3)]
    clauses += [[-var(a, c), -var(b, c)] for a, b in sorted(edges) for c in range(3)]
    return clauses


def write_cnf(path: Path, clauses: list[list[int]]) -> None:
    n = max(abs(x) for clause in clauses for x in clause)
    lines = [f"p cnf {n} {len(clauses)}"] + [" ".join(map(str, c)) + " 0" for c in clauses]
    path.write_text("\n".join(lines) + "\n")


def features(clauses: list[list[int]]) -> list[float]:
    """A few cheap features SMAC's model can tell instances apart by: size, clause/variable ratio,
    clause length, share of positive literals."""
    n = max(abs(x) for clause in clauses for x in clause)
    lengths = [len(c) for c in clauses]
    literals = [x for c in clauses for x in c]
    return [float(n), float(len(clauses)), len(clauses) / n, float(np.mean(lengths)),
            float(np.mean([x > 0 for x in literals]))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="instances per family and split (default 50)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = ["instance,variables,clauses,ratio,clause_length,positive_share"]
    for family, make in (("uf", uniform_3sat), ("flat", flat_colouring)):
        for split_index, split in enumerate(("train", "test")):
            folder = HERE / "instances" / family / split
            folder.mkdir(parents=True, exist_ok=True)
            rng = np.random.default_rng([args.seed, split_index, len(family)])
            names = []
            for i in range(args.n):
                clauses = make(SIZES[family], rng)
                name = f"instances/{family}/{split}/{family}{SIZES[family]}-{i:03d}.cnf"
                write_cnf(HERE / name, clauses)
                names.append(name)
                rows.append(",".join([name, *(f"{f:.6g}" for f in features(clauses))]))
            (HERE / "instances" / f"{family}-{split}.txt").write_text("\n".join(names) + "\n")
    (HERE / "instances" / "features.csv").write_text("\n".join(rows) + "\n")
    print(f"wrote {4 * args.n} instances under {HERE / 'instances'}")


if __name__ == "__main__":
    main()
