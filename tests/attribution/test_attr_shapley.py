"""Shapley estimators on random games: the axioms, a brute-force formula, sampling error."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fairsplit.shapley import (
    ShapleyConfig,
    ShapleyPlan,
    exact_shapley,
    shapley,
    to_shares,
)


def brute_force(n: int, v: dict[int, float]) -> list[float]:
    """Shapley as the average marginal contribution over all orderings (n! of them)."""
    phi = [0.0] * n
    orders = list(itertools.permutations(range(n)))
    for order in orders:
        mask = 0
        for i in order:
            phi[i] += v[mask | 1 << i] - v[mask]
            mask |= 1 << i
    return [p / len(orders) for p in phi]


@st.composite
def games(draw, max_players: int = 5):
    n = draw(st.integers(1, max_players))
    vals = draw(st.lists(st.floats(-2, 2), min_size=(1 << n) - 1, max_size=(1 << n) - 1))
    return n, {0: 0.0, **{m: vals[m - 1] for m in range(1, 1 << n)}}


@given(games())
def test_exact_agrees_with_brute_force_and_is_efficient(game):
    n, v = game
    phi = exact_shapley(n, v)
    assert np.allclose(phi, brute_force(n, v), atol=1e-12)
    assert math.isclose(phi.sum(), v[(1 << n) - 1], abs_tol=1e-12)


@given(games(), games())
def test_additivity(g1, g2):
    n = min(g1[0], g2[0])
    v1 = {m: g1[1][m] for m in range(1 << n)}
    v2 = {m: g2[1][m] for m in range(1 << n)}
    both = {m: v1[m] + v2[m] for m in v1}
    assert np.allclose(exact_shapley(n, both), exact_shapley(n, v1) + exact_shapley(n, v2), atol=1e-12)


@given(games(max_players=4), st.data())
def test_null_player_and_symmetry(game, data):
    n, v = game
    n += 1  # the new player `n` is null: v(S ∪ {n}) = v(S)
    v = {**v, **{m | 1 << (n - 1): v[m] for m in list(v)}}
    phi = exact_shapley(n, v)
    assert abs(phi[n - 1]) < 1e-12
    # symmetry: make players 0 and 1 interchangeable, then their values agree
    if n >= 2:
        def swap(m: int) -> int:
            a, b = m & 1, m >> 1 & 1
            return (m & ~3) | (a << 1) | b
        sym = {m: (v[m] + v[swap(m)]) / 2 for m in v}
        phi = exact_shapley(n, sym)
        assert math.isclose(phi[0], phi[1], abs_tol=1e-12)


@given(st.floats(0, 1), st.floats(0, 1))
def test_one_artist_closed_form(v_model, v_artist):
    # player 0 = model M, player 1 = artist A, v(N) = 1
    v = {0: 0.0, 0b01: v_model, 0b10: v_artist, 0b11: 1.0}
    phi = shapley(2, v).values
    assert math.isclose(phi[1], 0.5 * (v_artist + 1 - v_model), abs_tol=1e-12)
    assert math.isclose(phi[0], 0.5 * (v_model + 1 - v_artist), abs_tol=1e-12)


@given(st.lists(st.floats(-1, 1), min_size=1, max_size=10).filter(lambda p: max(p) > 1e-3))
def test_shares_clamp_and_sum_to_one(phi):
    shares = to_shares(phi)
    assert all(s >= 0 for s in shares.values)
    assert abs(math.fsum(shares.values) - 1) < 1e-12
    assert abs(sum(Fraction(s) for s in shares.values) - 1) < Fraction(1, 10**12)
    assert shares.clamped == any(p < 0 for p in phi)


def clip_like(n: int, seed: int) -> dict[int, float]:
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=16) + 0.8 * rng.normal(size=(n, 16))
    target = emb.sum(0)
    v = {0: 0.0}
    for m in range(1, 1 << n):
        s = emb[[i for i in range(n) if m >> i & 1]].sum(0)
        v[m] = max(0.0, float(s @ target / np.linalg.norm(s) / np.linalg.norm(target)))
    return v


def test_sampling_is_nearly_exact_with_nearly_the_full_budget():
    v = clip_like(9, 0)
    est = ShapleyPlan(9, ShapleyConfig(max_exact_players=0, budget=2**9 - 1, seed=1)).estimate(v)
    assert est.estimator == "kernel-stratified-paired"
    assert np.allclose(est.values, exact_shapley(9, v), atol=1e-3)
    assert ShapleyPlan(9, ShapleyConfig(max_exact_players=0, budget=2**9)).exact


@pytest.mark.slow  # real processes or real compute, seconds
def test_sampling_error_shrinks_with_budget_and_respects_its_standard_error():
    n, seeds = 10, 12
    mean_err, covered, total = {}, 0, 0
    for budget in (64, 128, 512):
        errs = []
        for seed in range(seeds):
            v = clip_like(n, 100 + seed)
            truth = exact_shapley(n, v)
            plan = ShapleyPlan(n, ShapleyConfig(max_exact_players=8, budget=budget, seed=seed))
            assert len(set(plan.coalitions)) <= budget
            est = plan.estimate(v)
            err = np.abs(np.array(est.values) - truth)
            assert math.isclose(sum(est.values), v[(1 << n) - 1], abs_tol=1e-9)
            errs.append(err.mean())
            covered += int(np.sum(err <= 2 * np.array(est.stderr)))
            total += n
        mean_err[budget] = float(np.mean(errs))
    assert mean_err[64] > mean_err[128] > mean_err[512]
    assert covered / total >= 0.85
