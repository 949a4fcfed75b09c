#!/usr/bin/env python3
"""A command target: any program works if it takes `--name=value` arguments and prints
`cost=<number>` (SMAC3's script-target convention). This one is Rosenbrock in 4-D."""

import sys

args = dict(arg[2:].split("=", 1) for arg in sys.argv[1:] if arg.startswith("--"))
x = [float(args[f"x{i}"]) for i in range(4)]
cost = sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(3))
print(f"cost={cost}; status=SUCCESS")
