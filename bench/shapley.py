"""Benchmark of fairsplit's Shapley estimators against shapiq on the same games.

For n = 2…12 players: time of the exact estimator, and the mean absolute error (over
players and seeds) of fairsplit's sampling estimator at budgets 64/128/256, next to
shapiq's KernelSHAP with the pairing trick and its permutation sampling, on
- a CLIP-like game: v(S) = max(0, cos(Σ_{i∈S} e_i, Σ_N e_i)) with unit embeddings that
  share a common direction (CLIP image embeddings of related images have cosines of
  about 0.5–0.8), and
- an interaction game: a random sparse game of pairwise and triple synergies plus a
  unanimity term, where additive approximations are poor.
Every estimator gets the same budget of evaluated coalitions (∅ and N included).
Appends a row to bench/RESULTS.md.

    python bench/shapley.py [--quick] [--seeds N] [--no-record]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fairsplit.shapley import ShapleyConfig, ShapleyPlan, exact_shapley  # noqa: E402
from _common import record  # noqa: E402

BUDGETS = (64, 128, 256)


def clip_like_game(n: int, seed: int, dim: int = 64) -> dict[int, float]:
    rng = np.random.default_rng(seed)
    common = rng.normal(size=dim)
    emb = common / np.linalg.norm(common) + 0.8 * rng.normal(size=(n, dim)) / np.sqrt(dim)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    target = emb.sum(axis=0)
    values = {0: 0.0}
    for m in range(1, 1 << n):
        s = emb[[i for i in range(n) if m >> i & 1]].sum(axis=0)
        values[m] = max(0.0, float(s @ target / np.linalg.norm(s) / np.linalg.norm(target)))
    return values


def interaction_game(n: int, seed: int) -> dict[int, float]:
    rng = np.random.default_rng(seed)
    terms = [(1 << i, rng.normal()) for i in range(n)]
    for _ in range(2 * n):
        k = int(rng.integers(2, min(n, 3) + 1))
        terms.append((sum(1 << int(i) for i in rng.choice(n, size=k, replace=False)), 2 * rng.normal()))
    terms.append(((1 << n) - 1, 3.0))
    return {m: float(sum(w for t, w in terms if m & t == t)) for m in range(1 << n)}


def fairsplit_estimate(n: int, values: dict[int, float], budget: int, seed: int) -> np.ndarray:
    plan = ShapleyPlan(n, ShapleyConfig(max_exact_players=0, budget=budget, seed=seed))
    return np.array(plan.estimate(values).values)


def shapiq_estimate(kind: str, n: int, values: dict[int, float], budget: int, seed: int) -> np.ndarray:
    import shapiq

    if kind == "kernelshap-paired":
        approx = shapiq.KernelSHAP(n=n, pairing_trick=True, random_state=seed)
    else:
        approx = shapiq.PermutationSamplingSV(n=n, random_state=seed)
    bits = 1 << np.arange(n)

    def game(coalitions: np.ndarray) -> np.ndarray:
        return np.array([values[int(bits[row].sum())] for row in coalitions.astype(bool)])

    result = approx.approximate(budget=budget, game=game)
    return np.array([result[(i,)] for i in range(n)]) + (values[0] if n == 1 else 0.0)


ESTIMATORS = {
    "fairsplit": fairsplit_estimate,
    "kernelshap-paired": lambda *a: shapiq_estimate("kernelshap-paired", *a),
    "permutation": lambda *a: shapiq_estimate("permutation", *a),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 2,4,…,10 and 5 seeds")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()
    sizes = range(2, 11, 2) if args.quick else range(2, 13)
    seeds = args.seeds or (5 if args.quick else 10)
    key: dict[str, float] = {}
    print(f"{'game':12} {'n':>2} {'exact ms':>9} " + " ".join(
        f"{name[:12]:>12}@{b:<3}" for b in BUDGETS for name in ESTIMATORS))
    for game_name, make in (("clip-like", clip_like_game), ("interaction", interaction_game)):
        for n in sizes:
            games = [make(n, 1000 + s) for s in range(seeds)]
            start = time.perf_counter()
            truths = [exact_shapley(n, g) for g in games]
            exact_ms = (time.perf_counter() - start) / seeds * 1e3
            cells = []
            for budget in BUDGETS:
                for name, estimate in ESTIMATORS.items():
                    if budget >= 1 << n:
                        cells.append(f"{'exact':>16}")
                        continue
                    err = np.mean([
                        np.abs(estimate(n, g, budget, s) - t).mean()
                        for s, (g, t) in enumerate(zip(games, truths))
                    ])
                    key[f"{game_name} n={n} b={budget} {name}"] = err
                    cells.append(f"{err:16.5f}")
            print(f"{game_name:12} {n:>2} {exact_ms:9.2f} " + " ".join(cells), flush=True)
    if not args.no_record:
        record_summary(key)


def record_summary(key: dict[str, float]) -> None:
    """One RESULTS.md row: mean absolute error at n = 10, budgets 64/128/256, per estimator."""
    parts = []
    for game in ("clip-like", "interaction"):
        cols = [
            f"{name} " + "/".join(f"{key.get(f'{game} n=10 b={b} {name}', float('nan')):.4f}" for b in BUDGETS)
            for name in ESTIMATORS
        ]
        parts.append(f"{game}: " + ", ".join(cols))
    record("shapley MAE n=10 budgets 64/128/256", "; ".join(parts))


if __name__ == "__main__":
    main()
