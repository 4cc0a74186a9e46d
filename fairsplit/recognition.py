"""Recognizability: an artist whose style is not visible in the image earns nothing.

Style uplift (docs/attribution.md): u_a = cos(E(I_N), g_a) − cos(E(I_{N∖a}), g_a), the gain in
resemblance to `a`'s gallery that naming `a` produced. Naming a famous artist whose
style does not show gives no uplift; nor does naming one the base model imitates by
default (I_{N∖a} already looks like them). Optional second test: among all registered
artists' galleries, `a` must rank within the top `max_rank` by similarity to the image.
Pure numpy.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def style_uplift(anchor: np.ndarray, without: np.ndarray, gallery: np.ndarray) -> float:
    return cosine(anchor, gallery) - cosine(without, gallery)


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
) -> Recognition:
    """Apply the uplift test (and the rank test when a registry and `max_rank` are given)."""
    uplift = round(style_uplift(anchor, without, gallery), 9)
    rank = zero_shot_rank(anchor, artist_id, registry) if registry and artist_id in registry else None
    ranked_ok = max_rank is None or rank is None or rank <= max_rank
    return Recognition(artist_id, uplift, uplift >= tau and ranked_ok, rank)
