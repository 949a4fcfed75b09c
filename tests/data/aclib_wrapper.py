#!/usr/bin/env python3
"""A target in the AClib wrapper convention: INSTANCE INFO CUTOFF RUNLENGTH SEED -name value ...
It burns t x (the instance's factor) CPU seconds, appends its arguments to $ACLIB_CALLS (one
JSON line per call) and prints the result line AClib wrappers print."""

import json
import os
import sys
import time

FACTOR = {"a": 1.0, "b": 1.5, "c": 2.0, "d": 3.0}

instance, info, cutoff, runlength, seed, *rest = sys.argv[1:]
params = dict(zip((n.lstrip("-") for n in rest[0::2]), rest[1::2], strict=True))
with open(os.environ["ACLIB_CALLS"], "a") as f:
    f.write(json.dumps({"instance": instance, "info": info, "cutoff": float(cutoff), "runlength": runlength,
                        "seed": int(seed), "params": params}) + "\n")
if params.get("mode") == "crash":
    print("Result of this algorithm run: CRASHED, 0, 0, 0, " + seed)
    sys.exit(0)
need = float(params["t"]) * FACTOR[instance]
end = time.process_time() + min(need, float(cutoff))  # a wrapper stops its solver at the cutoff it is given
while time.process_time() < end:
    pass
print("some solver output first")
status = "SAT" if need < float(cutoff) else "TIMEOUT"
print(f"Result of this algorithm run: {status}, {time.process_time():.3f}, 0, 0, {seed}")
