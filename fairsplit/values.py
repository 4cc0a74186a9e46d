"""Coalition values from embeddings (docs/attribution.md). Pure numpy.

Coalitions are bitmasks over the players: bit 0 is the model M, bit j the j-th artist.
- S ∋ M: the embedding of the coalition's render (generative) or of its prompt (text).
- S ⊆ A: the normalised mean of the artists' galleries.
- v(S) = max(0, cos(anchor, e_S)), v(∅) = 0, v(N) = 1, where the anchor is E(I_N).

Bias-corrected values (`correction="floor"`, docs/attribution.md): every cosine c of the
image is measured above the image's floor b, the mean cosine of the same image to
reference galleries that have nothing to do with its artists:
v(S) = max(0, (c − b) / (1 − b)). An artist whose style is absent from the image is then
worth ≈ 0 alone, however high the embedder's cosines between unrelated images run.
`correction="none"` is the paper's value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from fairsplit.profile import FACTS

MODEL_BIT = 1
DECIMALS = 9  # values are quantised: CLIP cosines carry no meaning past this
MAX_FLOOR = 1 - 1e-6  # a floor of 1 would divide by zero: the image equals its references


def default_correction(profile: str) -> str:
    """The profile's value correction (`fairsplit.profile.FACTS`)."""
    return FACTS[profile].value_correction if profile in FACTS else "floor"


def image_floor(anchor: np.ndarray, references: Sequence[np.ndarray]) -> float:
    """b: the mean cosine of the image to reference galleries unrelated to its artists.

    Never below 0: the paper's max(0, c) already sends unrelated images to nothing, and a
    negative b would raise every value, an absent style's too."""
    if not len(references):
        raise ValueError("the floor of a value needs at least one reference gallery")
    mean = float(np.mean([cosine(anchor, r) for r in references]))
    return round(min(MAX_FLOOR, max(0.0, mean)), DECIMALS)


def above_floor(similarity: float, floor: float | None) -> float:
    """A cosine measured above the image's floor, so that the floor maps to 0 and 1 stays 1."""
    return similarity if floor is None else (similarity - floor) / (1.0 - floor)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def unit_mean(vectors: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    mean = np.mean(np.asarray(vectors, dtype=np.float64), axis=0)
    return mean / np.linalg.norm(mean)


def coalition_prompt(content: str, phrases: Sequence[str]) -> str:
    """`content` followed by the style phrases, as in "an image of a man, by Van Gogh"."""
    return ", ".join([content, *(p for p in phrases if p)])


def artist_bits(mask: int, n_artists: int) -> list[int]:
    """Indices (0-based, into the artists) of the artists in `mask`."""
    return [j for j in range(n_artists) if mask >> (j + 1) & 1]


def coalition_values(
    coalitions: Sequence[int],
    grand: int,
    anchor: np.ndarray,
    model_embeddings: Mapping[int, np.ndarray],
    galleries: Sequence[np.ndarray],
    model_rescale: tuple[float, float] | None = None,
    floor: float | None = None,
) -> dict[int, float]:
    """v(S) for each coalition of the game whose grand coalition is `grand`.

    `model_rescale = (r0, r1)` maps the raw cosine r of a model coalition to
    (r − r0) / (r1 − r0) (text mode: r0 from the empty prompt, r1 from the full one).
    `floor` (bias-corrected values): every other cosine c becomes (c − floor) / (1 − floor).
    """
    values: dict[int, float] = {}
    for mask in coalitions:
        if mask == 0:
            value = 0.0
        elif mask == grand:
            value = 1.0
        elif mask & MODEL_BIT:
            value = cosine(anchor, model_embeddings[mask])
            if model_rescale:
                r0, r1 = model_rescale
                value = (value - r0) / (r1 - r0)
            else:
                value = above_floor(value, floor)
        else:
            gallery = unit_mean([galleries[j] for j in artist_bits(mask, len(galleries))])
            value = above_floor(cosine(anchor, gallery), floor)
        values[mask] = round(max(0.0, value), DECIMALS)
    return values
