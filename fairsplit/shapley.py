"""Shapley values of a cooperative game given as a table of coalition values.

Pure numpy, no torch: the attribution pipeline first asks a `ShapleyPlan` which
coalitions it needs (so that every render of an event can go through the model as one
batch), evaluates them, then hands the values back to the plan for the estimate.

Players are indices `0..n-1`; a coalition is a bitmask `int` (bit `i` set = player `i`
in). `values[0]` is `v(∅)` and `values[(1 << n) - 1]` is `v(N)`.

Two estimators:
- `exact`: the Shapley formula over all `2^n` coalitions.
- `kernel-stratified-paired`: KernelSHAP's constrained weighted least squares, with
  (1) the border sizes (1 and n-1, then 2 and n-2, …) enumerated exactly while the
  budget's kernel-proportional share for them covers them, (2) the remaining budget
  spread over the inner sizes in proportion to their kernel mass (stratified, not
  random), sampled without replacement, balanced (every player about equally often) and
  always with the complement (pairing), and
  (3) a standard error per share from a stratified bootstrap over the sampled pairs.
  Every coalition weighs `kernel_mass(size) / coalitions_taken(size)`, which reduces to
  the exact Shapley kernel when a size is enumerated, so the full budget gives the
  exact values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

DEFAULT_MAX_EXACT_PLAYERS = 8
DEFAULT_BUDGET = 256
BOOTSTRAP_ROUNDS = 200


@dataclass(frozen=True)
class ShapleyConfig:
    """How to estimate: exact up to `max_exact_players`, else sampled under `budget`."""

    max_exact_players: int = DEFAULT_MAX_EXACT_PLAYERS
    budget: int = DEFAULT_BUDGET
    seed: int = 0


@dataclass(frozen=True)
class ShapleyEstimate:
    """Shapley values (one per player) and how they were obtained."""

    values: tuple[float, ...]
    estimator: str
    coalitions_evaluated: int
    budget: int | None = None
    stderr: tuple[float, ...] | None = None


def popcount(mask: int) -> int:
    return bin(mask).count("1")


def members(mask: int, n: int) -> list[int]:
    return [i for i in range(n) if mask >> i & 1]


def exact_shapley(n: int, values: Mapping[int, float]) -> np.ndarray:
    """φ_i = Σ_{S ∌ i} |S|!(n-|S|-1)!/n! · (v(S ∪ i) − v(S)), over all 2^n coalitions."""
    full = 1 << n
    table = np.array([values[m] for m in range(full)], dtype=np.float64)
    masks = np.arange(full)
    sizes = np.array([popcount(m) for m in range(full)])
    weight = np.array(
        [math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) for s in range(n)]
    )
    phi = np.empty(n)
    for i in range(n):
        without = masks[(masks >> i & 1) == 0]
        gain = table[without | (1 << i)] - table[without]
        phi[i] = float(np.sum(weight[sizes[without]] * gain))
    return phi


def kernel_mass(n: int, size):
    """Total Shapley-kernel weight of all coalitions of one size (0 < size < n); `size` may
    be a numpy array of sizes."""
    return (n - 1) / (size * (n - size))


def _allocate(total: int, weights: Sequence[float]) -> list[int]:
    """Split `total` into integers proportional to `weights` (largest remainder)."""
    share = [total * w / sum(weights) for w in weights]
    counts = [math.floor(s) for s in share]
    order = sorted(range(len(share)), key=lambda k: (counts[k] - share[k], k))
    for k in order[: total - sum(counts)]:
        counts[k] += 1
    return counts


def _balanced_sample(n: int, size: int, k: int, rng: np.random.Generator) -> list[int]:
    """`k` distinct coalitions of one size (no two complementary), every player about
    equally often: consecutive blocks of random permutations. The balance cancels most of
    the players' main effects from the sampling noise (half the error of independent
    draws on CLIP-like games, see bench/RESULTS.md)."""
    full = (1 << n) - 1
    taken: list[int] = []
    seen: set[int] = set()
    while len(taken) < k:
        perm = rng.permutation(n)
        for j in range(n // size):
            m = sum(1 << int(i) for i in perm[j * size : (j + 1) * size])
            if len(taken) < k and m not in seen and full ^ m not in seen:
                seen.add(m)
                taken.append(m)
    return taken


class ShapleyPlan:
    """The coalitions one estimate needs, chosen before any of them is evaluated."""

    def __init__(self, n: int, config: ShapleyConfig = ShapleyConfig()):
        if n < 1:
            raise ValueError("a game needs at least one player")
        self.n = n
        self.config = config
        self.exact = n <= config.max_exact_players or config.budget >= 1 << n
        self.strata: dict[int, list[int]] = {}  # inner size pair (s ≤ n-s) -> sampled masks
        self.enumerated: list[int] = []  # sizes taken completely
        if self.exact:
            self.coalitions = list(range(1 << n))
        else:
            self.coalitions = self._sample()

    def _sample(self) -> list[int]:
        n, budget = self.n, self.config.budget
        if budget < 2 * n + 2:
            raise ValueError(f"a sampling budget for {n} players must be at least {2 * n + 2}")
        full = (1 << n) - 1
        remaining = budget - 2
        pairs = list(range(1, n // 2 + 1))  # size s stands for sizes s and n-s
        mass = {s: kernel_mass(n, s) * (1 if 2 * s == n else 2) for s in pairs}
        count = {s: math.comb(n, s) * (1 if 2 * s == n else 2) for s in pairs}
        while pairs and remaining * mass[pairs[0]] / sum(mass[s] for s in pairs) >= count[pairs[0]]:
            s = pairs.pop(0)
            self.enumerated += sorted({s, n - s})
            remaining -= count[s]
        chosen = [0, full] + self._enumerated_rows[0].tolist()
        if pairs:
            rng = np.random.default_rng(self.config.seed)
            for s, k in zip(pairs, _allocate(remaining // 2, [mass[s] for s in pairs])):
                distinct = math.comb(n, s) // (2 if 2 * s == n else 1)
                self.strata[s] = _balanced_sample(n, s, min(k, distinct), rng)
                chosen += [m for t in self.strata[s] for m in (t, full ^ t)]
        return chosen

    def estimate(self, values: Mapping[int, float]) -> ShapleyEstimate:
        """Shapley values from the planned coalitions' values."""
        if self.exact:
            phi = exact_shapley(self.n, values)
            return ShapleyEstimate(tuple(map(float, phi)), "exact", len(self.coalitions))
        phi = self._regress(values, {s: np.array(m) for s, m in self.strata.items()})
        rng = np.random.default_rng(self.config.seed + 1)
        boots = np.array(
            [
                self._regress(
                    values,
                    {s: rng.choice(m, size=len(m), replace=True) for s, m in self.strata.items()},
                )
                for _ in range(BOOTSTRAP_ROUNDS)
            ]
        )
        return ShapleyEstimate(
            values=tuple(map(float, phi)),
            estimator="kernel-stratified-paired",
            coalitions_evaluated=len(set(self.coalitions)),
            budget=self.config.budget,
            stderr=tuple(map(float, boots.std(axis=0, ddof=1))),
        )

    def _regress(self, values: Mapping[int, float], strata: Mapping[int, np.ndarray]) -> np.ndarray:
        """Constrained weighted least squares: Σφ = v(N) − v(∅), kernel weights per size.
        Rows: the enumerated sizes' coalitions, then each sampled one and its complement."""
        n, full = self.n, (1 << self.n) - 1
        rows, weights = [self._enumerated_rows[0]], [self._enumerated_rows[1]]
        for sampled in strata.values():
            drawn = np.asarray(sampled, dtype=np.int64)
            halves = np.stack([drawn, full ^ drawn], axis=1).reshape(-1)
            rows.append(halves)
            weights.append(kernel_mass(n, np.bitwise_count(halves).astype(np.int64)) / len(sampled))
        masks = np.concatenate(rows)
        z = ((masks[:, None] >> np.arange(n)) & 1).astype(np.float64)
        y = np.array([values[m] for m in masks.tolist()]) - values[0]
        w = np.concatenate(weights)
        a = z.T @ (z * w[:, None])
        b = z.T @ (w * y)
        total = values[full] - values[0]
        a_inv = np.linalg.pinv(a)
        ones = np.ones(n)
        lam = (ones @ a_inv @ b - total) / (ones @ a_inv @ ones)
        return a_inv @ (b - lam * ones)

    @cached_property
    def _enumerated_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """The coalitions of the enumerated sizes and their kernel weights, once per plan
        (the bootstrap regresses 200 times on them)."""
        n, full = self.n, (1 << self.n) - 1
        rows = [m for m in range(1, full) if popcount(m) in self.enumerated]
        weights = [kernel_mass(n, popcount(m)) / math.comb(n, popcount(m)) for m in rows]
        return np.array(rows, dtype=np.int64), np.array(weights, dtype=np.float64)


def shapley(n: int, values: Mapping[int, float], config: ShapleyConfig = ShapleyConfig()) -> ShapleyEstimate:
    """Plan and estimate in one call, for a game whose whole value table is at hand."""
    return ShapleyPlan(n, config).estimate(values)


@dataclass(frozen=True)
class Shares:
    """Shapley values turned into shares: non-negative, summing to 1."""

    values: tuple[float, ...]
    clamped: bool


def to_shares(phi: Sequence[float]) -> Shares:
    """Clamp negative values to 0 and renormalise so the shares sum to 1.

    A negative Shapley value means a player made the image *less* like itself; such a
    player is paid nothing rather than charged. Shares are rounded to 15 decimals before
    the final normalisation so that float noise in the last bits does not reach the ledger.
    """
    clamped = any(p < 0 for p in phi)
    kept = [max(0.0, float(p)) for p in phi]
    total = math.fsum(kept)
    if total <= 0:
        raise ValueError("no player has a positive Shapley value")
    rounded = [round(p / total, 15) for p in kept]
    norm = math.fsum(rounded)
    return Shares(tuple(p / norm for p in rounded), clamped)
