"""Multi-fidelity: an MLP on the digits data, with the number of epochs as the budget. A trial
that gets a `checkpoint` continues from the weights it saved at `checkpoint.budget` epochs (in
`MLP_STATE_DIR`, default ./mlp_state, as .npz: arrays only) instead of training from scratch.
Cost: the error on a held-out quarter of the data."""

import os
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

X, y = load_digits(return_X_y=True)
X_train, X_valid, y_train, y_valid = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
scaler = StandardScaler().fit(X_train)
X_train, X_valid = scaler.transform(X_train), scaler.transform(X_valid)
CLASSES = np.unique(y)


def train(config, seed: int = 0, budget: float = 27, checkpoint=None) -> float:
    mlp = MLPClassifier(hidden_layer_sizes=(config["width"],) * config["depth"], alpha=config["alpha"],
                        learning_rate_init=config["learning_rate"], batch_size=config["batch_size"],
                        random_state=seed)
    mlp.partial_fit(X_train[:1], y_train[:1], classes=CLASSES)  # builds the layers
    done, saved = 0, None
    if checkpoint is not None:
        saved = Path(os.environ.get("MLP_STATE_DIR", "mlp_state")) / f"{checkpoint.key}.npz"
        if checkpoint.budget is not None and saved.exists():
            with np.load(saved) as state:
                done = int(state["epochs"])
                for i, (w, b) in enumerate(zip(mlp.coefs_, mlp.intercepts_, strict=True)):
                    w[...], b[...] = state[f"w{i}"], state[f"b{i}"]  # in place: the solver holds these arrays
    for _ in range(done, int(round(budget))):
        mlp.partial_fit(X_train, y_train)  # one epoch
    if saved is not None:
        saved.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"w{i}": w for i, w in enumerate(mlp.coefs_)} | {f"b{i}": b for i, b in enumerate(mlp.intercepts_)}
        np.savez(saved.with_suffix(".tmp.npz"), epochs=int(round(budget)), **arrays)
        os.replace(saved.with_suffix(".tmp.npz"), saved)
    return 1.0 - mlp.score(X_valid, y_valid)
