"""Two trials: the first two Sobol points fall in different halves of x, so exactly one
sleeps 16 s and the other 0.1 s; the worker that ran the short one then idles."""

import time


def uneven(config, seed: int = 0) -> float:
    time.sleep(16.0 if config["x"] < 2.5 else 0.1)
    return config["x"]
