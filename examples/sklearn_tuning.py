"""Tuning a scikit-learn classifier on the digits data set, over a conditional space: which
model, and each model's own hyperparameters. Cost: 1 - mean 3-fold cross-validated accuracy."""

from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

X, y = load_digits(return_X_y=True)  # loaded once per trial process, not per trial


def make_model(config, seed):
    if config["model"] == "svm":
        gamma = config["gamma"] if config["kernel"] == "rbf" else "scale"
        return make_pipeline(StandardScaler(), SVC(C=config["C"], kernel=config["kernel"], gamma=gamma))
    if config["model"] == "forest":
        return RandomForestClassifier(n_estimators=config["n_estimators"], max_depth=config["max_depth"],
                                      max_features=config["max_features"], random_state=seed, n_jobs=1)
    return make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=config["n_neighbors"],
                                                                weights=config["weights"]))


def train(config, seed: int = 0) -> float:
    scores = cross_val_score(make_model(config, seed), X, y, cv=3)
    return 1.0 - scores.mean()
