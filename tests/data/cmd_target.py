#!/usr/bin/env python3
"""A command target in SMAC3's script convention: --key=value arguments, prints cost=..."""
import sys

args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--"))
x, y = float(args["x"]), float(args["y"])
if x > 9.5:
    print("diverged", file=sys.stderr)
    sys.exit(1)
print("solver log line")
print(f"cost={(x - 1) ** 2 + (y - 2) ** 2}; runtime=0.01; status=SUCCESS; additional_info=seed{args['seed']}")
