"""One style, one player: the distance between artists' galleries, and the groups it makes.

The Shapley split cannot tell two ids of one style apart: a second id registered with
*other* works of the same style (a shell company), named beside the first, would share in
what only that style earned, and could raise the style's total. Two defences use one
distance, the cosine distance between gallery embeddings, and one threshold per profile
(`Profile.style_distance`, calibrated by ROC on the test world: `fairsplit world
calibrate`):

- at registration, a gallery closer than the threshold to a registered artist's is
  refused, unless an operator records why (`ledger.parties.registry`, `artists add
  --allow-similar-to`);
- in the game, players whose galleries are that close are one group player, and the
  group's share is split equally among its members (faithful group Shapley, after Lee
  et al., arXiv 2505.19013): however a style is split across ids, its total is the one
  player's value.

Pure numpy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from fairsplit.calibration import Calibration, rates
from fairsplit.values import cosine


def style_distance(a: np.ndarray, b: np.ndarray) -> float:
    """1 − cos(a, b): 0 for the same direction, 2 for opposite ones."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return round(1.0 - float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))), 9)


def nearest_style(vector: np.ndarray, registered: Mapping[str, np.ndarray]) -> tuple[str, float] | None:
    """The registered artist whose gallery is closest to `vector`, and the distance (ties: lowest id)."""
    best = None
    for artist_id in sorted(registered):
        distance = style_distance(vector, registered[artist_id])
        if best is None or distance < best[1]:
            best = (artist_id, distance)
    return best


def style_groups(galleries: Sequence[np.ndarray], threshold: float) -> list[list[int]]:
    """Indices of `galleries` grouped by "closer than `threshold`", closed transitively
    (connected components), each group in index order, groups by their first index. With
    threshold 0 every gallery is its own group."""
    parent = list(range(len(galleries)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(galleries)):
        for j in range(i + 1, len(galleries)):
            if style_distance(galleries[i], galleries[j]) < threshold:
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(galleries)):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values())


def group_galleries(galleries: Sequence[np.ndarray], groups: Sequence[Sequence[int]],
                    image: np.ndarray) -> list[np.ndarray]:
    """The galleries the game values with: each group's members all take the gallery of the
    member the image resembles least (by cosine), the others keep their own.

    Why the least: a group is one style, paid for what every member's works find in the
    image. The unit mean of the members' galleries can resemble the image more than any one
    of them (on the world, a shell company's other works of ember raised the pair's share
    by 0.05 over ember alone on the same image); the least resembling member's gallery never
    values the style above what its original id alone would be valued at."""
    chosen = list(galleries)
    for group in groups:
        if len(group) > 1:
            least = min(group, key=lambda j: cosine(image, galleries[j]))
            for j in group:
                chosen[j] = galleries[least]
    return chosen


def choose_distance(same: Sequence[float], distinct: Sequence[float]) -> Calibration:
    """The style distance: "distance < d ⇒ the same artist", with every same-artist pair
    within (a shell company is always refused; an operator can allow a distinct artist
    that collides, never undo a payment to a shell company), then as few distinct pairs
    as that allows: halfway between the farthest same-artist pair and the next distinct
    distance beyond it. The returned `tau` is the distance; precision and recall are of
    "same artist" (`calibration.rates` on negated distances)."""
    if not same or not distinct:
        raise ValueError("calibrating the style distance needs same-artist and distinct-artist pairs")
    farthest = max(same)
    beyond = [d for d in distinct if d > farthest]
    distance = round((farthest + min(beyond)) / 2 if beyond else farthest + 1e-6, 6)
    labels = [True] * len(same) + [False] * len(distinct)
    precision, recall, fpr = rates([-d for d in [*same, *distinct]], labels, -distance)
    return Calibration(distance, precision, recall, fpr, len(labels), len(same),
                       "every same-artist pair within, then fewest distinct pairs: midway beyond the farthest")
