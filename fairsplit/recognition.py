"""Recognizability: an artist whose style is not visible in the image earns nothing.

Style uplift (docs/attribution.md): how much `a` adds to the image's resemblance to `a`'s
gallery g_a, taken at both ends of the order in which the players join —

    u_a = ½ [ (cos(E(I_N), g_a) − cos(E(I_{N∖a}), g_a))  +  (cos(E(I_{a}), g_a) − cos(E(I_∅), g_a)) ]

(a coalition's image always includes the model: I_∅ is the model alone). With one artist
both terms are the same leave-one-out gain; with two it is exactly `a`'s Shapley value in
the resemblance game v(S) = cos(E(I_S), g_a). Why both ends: in a blend of two styles the
stronger one carries most of the resemblance, so the weaker one's leave-one-out gain alone
falls under τ although its style shows (measured on the world, same 20 cases: two named
artists both recognised in 65 % of cases by leave-one-out, 85 % at both ends;
docs/attribution.md).
Naming a famous artist whose style does not show gives no uplift; nor does naming one the
base model imitates by default (I_{N∖a} and I_∅ already look like them). Optional second
test: among all registered artists' galleries, `a` must rank within the top `max_rank` by
similarity to the image. Pure numpy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from fairsplit.profile import DEFAULT_TAU, FACTS
from fairsplit.values import cosine


def default_tau(profile: str) -> float:
    """The profile's τ (`fairsplit.profile.FACTS`, where each one is explained)."""
    return FACTS[profile].tau if profile in FACTS else DEFAULT_TAU


@dataclass(frozen=True)
class Recognition:
    artist_id: str
    uplift: float
    recognised: bool
    rank: int | None = None  # 1 = the registered gallery closest to the image
    # image mixing: how much more the artist's mixed work resembles their registered gallery
    # than the model's unstyled renders (`work_margin`); None when no such check applies
    work_margin: float | None = None


def work_margin(work: np.ndarray, gallery: np.ndarray, references: Sequence[np.ndarray]) -> float:
    """cos(E(work), g_a) − max_k cos(E(work), r_k): how much more a mixed work looks like its
    artist's registered gallery than like any reference gallery (the model's renders with
    no artist named, `fairsplit.gallery.reference_galleries`).

    Why: a work mixed under an artist's id is their part of the generation only if it is in
    their style. A plain image, or another artist's work, under that id can still move the
    render towards their gallery by chance (the adapter does not reproduce a plain work
    exactly), which the uplift test alone would pay; the work itself shows it is not
    theirs. Registry-independent: it compares with the model's default look, not with
    other artists."""
    if not len(references):
        raise ValueError("the work check needs at least one reference gallery")
    return round(cosine(work, gallery) - max(cosine(work, r) for r in references), 9)


def style_uplift(anchor: np.ndarray, without: np.ndarray, gallery: np.ndarray,
                 alone: np.ndarray | None = None, nobody: np.ndarray | None = None) -> float:
    """u_a from the four embeddings (module docstring); without `alone` and `nobody` (one
    artist: they are `anchor` and `without`) the leave-one-out gain."""
    last = cosine(anchor, gallery) - cosine(without, gallery)
    if alone is None or nobody is None:
        return last
    return 0.5 * (last + cosine(alone, gallery) - cosine(nobody, gallery))


def zero_shot_rank(anchor: np.ndarray, artist_id: str, registry: Mapping[str, np.ndarray]) -> int:
    """1-based rank of `artist_id` among the registry's galleries by cosine to the image."""
    mine = cosine(anchor, registry[artist_id])
    return 1 + sum(cosine(anchor, g) > mine for other, g in registry.items() if other != artist_id)


def recognise(
    artist_id: str,
    anchor: np.ndarray,
    without: np.ndarray,
    gallery: np.ndarray,
    tau: float = DEFAULT_TAU,
    registry: Mapping[str, np.ndarray] | None = None,
    max_rank: int | None = None,
    alone: np.ndarray | None = None,
    nobody: np.ndarray | None = None,
    work: tuple[float, float] | None = None,
) -> Recognition:
    """Apply the uplift test (and the rank test when a registry and `max_rank` are given).
    `alone` and `nobody` are E(I_{a}) and E(I_∅), the other end of the order (see
    `style_uplift`); `work` is (the mixed work's `work_margin`, the profile's least margin):
    a work under the least margin is not the artist's style, so the artist is not recognised."""
    uplift = round(style_uplift(anchor, without, gallery, alone, nobody), 9)
    rank = zero_shot_rank(anchor, artist_id, registry) if registry and artist_id in registry else None
    ranked_ok = max_rank is None or rank is None or rank <= max_rank
    work_ok = work is None or work[0] >= work[1]
    return Recognition(artist_id, uplift, uplift >= tau and ranked_ok and work_ok, rank,
                       None if work is None else work[0])


def gate(uplift: float, tau: float, width: float) -> float:
    """The soft recognizability gate: the fraction of its Shapley share an artist keeps,
    0 below τ, rising linearly to 1 at τ + `width` (width 0: the hard test, 1 from τ on).

    Why: with a hard test a share jumps from 0 to its whole Shapley value as the uplift
    crosses τ, so a small fall of the uplift near τ is a large fall of the pay; the ramp
    makes the share continuous in the uplift and leaves everything below τ at 0."""
    if uplift < tau:
        return 0.0
    if width <= 0:
        return 1.0
    return min(1.0, (uplift - tau) / width)


def gated_shares(shares: Sequence[float], weights: Sequence[float]) -> tuple[float, ...]:
    """Shares (the model's first) with every artist's scaled by its gate weight; what the
    gate withholds goes to the model, so the shares still sum to 1 (rounded to 15
    decimals and renormalised, as `shapley.to_shares` does)."""
    artists = [round(float(s) * w, 15) for s, w in zip(shares[1:], weights)]
    rounded = [round(1.0 - math.fsum(artists), 15), *artists]
    norm = math.fsum(rounded)
    return tuple(p / norm for p in rounded)
