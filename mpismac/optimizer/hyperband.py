"""Asynchronous successive halving over Hyperband's brackets (ASHA, Li et al. 2020), for
facade `multi_fidelity`.

The budgets are the scenario's `budget_levels`: rung 0 (min_budget) up to the top rung
(max_budget). A new configuration starts at the rung of its bracket, drawn with Hyperband's
proportions: bracket b (starting at rung b, of B brackets) starts ceil(B / (B - b) *
eta^(B - 1 - b)) configurations per Hyperband iteration, so each bracket gets about the same
compute; `learned` weighs each share by the square of how well its rung ranks configurations
as the rungs above it do (Hyper-Tune's idea, Li et al. 2022; see `Ladder.trusts`). A configuration is
promoted from rung r to r + 1 as soon as it is among the best floor(n / eta) of the n results
finished at rung r (from every bracket), never waiting for a rung to fill: one whose trial at
rung r still runs has no result there and cannot be promoted yet, and one started at r + 1 is
never promoted again. Higher rungs are promoted to first.
The top rung is the intensifier's: a configuration that reaches max_budget races the incumbent
there, over seeds and instances; the rungs below run on the first (instance, seed) pair.

Everything here follows from the trials told, in order, so a resumed run rebuilds it from its
journal and a reproducible run makes the same promotions whatever the timing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import kendalltau

from .streams import generator

PRIOR_PAIRS = 4  # a rung's trust starts at 1 (Hyperband) and weighs as this many pairs of results
TRUST_FLOOR = 0.05  # no bracket's share falls below this fraction of Hyperband's


def bracket_weights(n_rungs: int, n_brackets: int, eta: float) -> np.ndarray:
    """The share of new configurations that start in each bracket (Hyperband's counts)."""
    counts = [math.ceil(n_rungs / (n_rungs - b) * eta ** (n_rungs - 1 - b)) for b in range(n_brackets)]
    return np.asarray(counts, dtype=float) / sum(counts)


@dataclass(frozen=True)
class Step:
    """A trial the ladder wants: `config_id` at rung `rung`."""

    config_id: int
    rung: int


class Ladder:
    """The rungs' results and who may be promoted; `budgets` smallest first."""

    def __init__(self, budgets: tuple[float, ...], eta: float, n_brackets: int | None, seed: int,
                 learned: bool = True):
        self.budgets = budgets
        self.learned = learned
        self.top = len(budgets) - 1
        self.eta = eta
        self.seed = seed
        self.weights = bracket_weights(len(budgets), n_brackets or len(budgets), eta)
        self.results: list[dict[int, float]] = [{} for _ in budgets]  # rung -> config -> cost
        self.started: set[tuple[int, int]] = set()  # (config, rung)
        self.own: set[int] = set()  # configurations this optimizer started (only those are promoted)
        self._known: set[int] = set()  # every configuration started
        self.reached: dict[int, float] = {}  # config -> the largest budget it finished successfully
        self._order: list[list[int] | None] = [None for _ in budgets]  # per rung: the configs by cost, cached
        self._shares: np.ndarray | None = None  # bracket_shares, cached until the next result
        self._trusts: list[float] | None = None  # trusts, likewise

    def rung_of(self, budget: float | None) -> int | None:
        """The rung of a budget, None for a budget that is not one of the levels."""
        if budget is None:
            return None
        for r, b in enumerate(self.budgets):
            if math.isclose(budget, b, rel_tol=1e-9):
                return r
        return None

    def new_rung(self) -> int:
        """The starting rung of the next new configuration (its bracket), from a stream of how
        many this optimizer started before."""
        rng = generator(self.seed, "bracket", len(self.own))
        return int(rng.choice(len(self.weights), p=self.bracket_shares()))

    def bracket_shares(self) -> np.ndarray:
        """Hyperband's shares, each bracket's weighed by the square of its starting rung's trust
        (how well it ranks configurations as the rungs above do: Hyper-Tune's idea), when
        `learned`. Squared: a rung of trust 0.3 keeps a tenth of its share (measured against
        the plain trust: benchmarks/README.md)."""
        if not self.learned:
            return self.weights
        if self._shares is None:
            shares = self.weights * np.maximum(np.square(self.trusts()[: len(self.weights)]), TRUST_FLOOR)
            self._shares = shares / shares.sum()
        return self._shares

    def trust(self, rung: int) -> float:
        """How far `rung` ranks configurations as the top rung does (see `trusts`)."""
        return self.trusts()[rung]

    def trusts(self) -> list[float]:
        """Per rung, top down: Kendall's tau (negative: 0) with the nearest rung above that
        shares at least two finished configurations, shrunk toward 1 by PRIOR_PAIRS, times that
        rung's own trust; 1 at the top rung and where no rung above shares two. A rung whose
        promotions all fail at the next one is judged there, not only once some reach the top.
        Cached until the next result."""
        if self._trusts is None:
            trusts = [1.0] * (self.top + 1)
            for rung in range(self.top - 1, -1, -1):
                low = self.results[rung]
                for above in range(rung + 1, self.top + 1):
                    high = self.results[above]
                    both = [c for c in low if c in high and math.isfinite(low[c]) and math.isfinite(high[c])]
                    if len(both) >= 2:
                        tau = kendalltau([low[c] for c in both], [high[c] for c in both]).statistic
                        tau = 0.0 if not math.isfinite(tau) else max(0.0, float(tau))
                        trusts[rung] = (len(both) * tau + PRIOR_PAIRS) / (len(both) + PRIOR_PAIRS) * trusts[above]
                        break
            self._trusts = trusts
        return self._trusts

    def knows(self, config_id: int) -> bool:
        """Whether the configuration started at some rung (here or, shared, elsewhere)."""
        return config_id in self._known

    def start(self, config_id: int, rung: int, own: bool = True) -> None:
        self.started.add((config_id, rung))
        self._known.add(config_id)
        if own:
            self.own.add(config_id)

    def tell(self, config_id: int, rung: int, cost: float, ok: bool) -> None:
        """A result at a rung (a failure: `ok` False, cost the crash cost). At the top rung only
        a configuration's first counts: the race's further pairs are not the ladder's."""
        if rung == self.top and config_id in self.results[rung]:
            return
        self.results[rung][config_id] = cost if ok and math.isfinite(cost) else math.inf
        self._order[rung] = None
        self._shares = self._trusts = None
        if ok:
            self.reached[config_id] = max(self.reached.get(config_id, 0.0), self.budgets[rung])

    def promotion(self) -> Step | None:
        """The next promotion (highest rung first), or None when no configuration qualifies."""
        for rung in range(self.top - 1, -1, -1):
            for config_id in self._best(rung):
                if (config_id, rung + 1) not in self.started and config_id in self.own:
                    return Step(config_id, rung + 1)
        return None

    def _best(self, rung: int) -> list[int]:
        """The configurations in the best floor(n / eta) of the n results at `rung` (finite
        costs only), best first."""
        order = self._order[rung]
        if order is None:
            got = self.results[rung]
            ranked = sorted((c for c in got if math.isfinite(got[c])), key=lambda c: (got[c], c))
            order = self._order[rung] = ranked[: int(len(got) // self.eta)]
        return order

    def rung_sizes(self) -> list[int]:
        """Results finished per rung (for the log and the report)."""
        return [len(r) for r in self.results]
