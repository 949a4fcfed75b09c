"""Two objectives: a decision tree's cross-validated error on the digits data set against its
size (log10 of its number of leaves). A smaller tree is cheaper to run and easier to read; the
Pareto front says how much accuracy each size costs."""

import math

from sklearn.datasets import load_digits
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.tree import DecisionTreeClassifier

X, y = load_digits(return_X_y=True)  # loaded once per trial process, not per trial
FOLDS = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)


def train(config, seed: int = 0) -> dict[str, float]:
    tree = DecisionTreeClassifier(max_depth=config["max_depth"], min_samples_leaf=config["min_samples_leaf"],
                                  max_features=config["max_features"], criterion=config["criterion"],
                                  ccp_alpha=config["ccp_alpha"], random_state=seed)
    error = 1.0 - cross_val_score(tree, X, y, cv=FOLDS).mean()
    leaves = tree.fit(X, y).get_n_leaves()
    return {"error": error, "log10_leaves": math.log10(leaves)}
