"""One style, one artist, at the registry's door: a gallery within the profile's style
distance of a registered artist's is refused, unless an operator records why it may
register (`fairsplit artists add --allow-similar-to ARTIST --reason TEXT`).

A second id with *other* works of an already registered style (a shell company) would be
named beside the first and share in what that style earned. Exact copies were refused
before (`registry._refuse_shared_works`); a one-pixel edit, or other works of the same
artist, were not. The distance is the cosine distance between gallery embeddings made by
the same embedder (`fairsplit.styles`, threshold `Profile.style_distance`, calibrated by
ROC on the test world). The check runs inside the registering transaction; the allowance
is a row of `artist_style_allowances` in that same transaction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select

from ledger.ids import is_slug
from ledger.books.schema import ArtistRow, ArtistStyleAllowanceRow


@dataclass(frozen=True)
class StylePolicy:
    """The threshold (a cosine distance; 0 switches the check off) and the operator's
    recorded exception, if any. Invariant: an exception names an artist and a reason."""

    threshold: float
    allow_similar_to: str | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 2.0 or math.isnan(self.threshold):
            raise ValueError("A style distance is a cosine distance in [0, 2].")
        if self.allow_similar_to is not None and not is_slug(self.allow_similar_to):
            raise ValueError("--allow-similar-to takes a registered artist's id (a-z, 0-9, '.', '_', '-').")
        reason = (self.reason or "").strip()
        if (self.allow_similar_to is None) != (not reason):
            raise ValueError("--allow-similar-to and --reason go together: name the artist and say why.")
        if reason and ("\x00" in reason or len(reason) > 500):
            raise ValueError("The reason must be 1-500 characters (no NUL).")


def cosine_distance(a, b) -> float:
    """1 − cos(a, b) of two float sequences (the registry's own arithmetic: no numpy)."""
    dot = math.fsum(x * y for x, y in zip(a, b))
    norm = math.sqrt(math.fsum(x * x for x in a)) * math.sqrt(math.fsum(y * y for y in b))
    return round(1.0 - dot / norm, 9) if norm else 2.0


def check_style(connection, artist_id: str, gallery, model_id: str, policy: StylePolicy, unpack) -> None:
    """Refuse (ValueError, one sentence naming the artist) a gallery within `policy.threshold`
    of another registered artist's of the same embedder, unless the policy allows exactly
    that artist; record the allowance. `unpack` turns a stored gallery blob into floats."""
    artists = ArtistRow.__table__
    rows = connection.execute(select(artists.c.artist_id, artists.c.gallery).where(
        artists.c.gallery_model_id == model_id, artists.c.artist_id != artist_id).order_by(artists.c.artist_id))
    close = sorted((cosine_distance(gallery, unpack(bytes(blob))), other) for other, blob in rows)
    close = [(d, other) for d, other in close if d < policy.threshold]
    allowed = policy.allow_similar_to
    for distance, other in close:
        if other != allowed:
            raise ValueError(
                f"Artist {artist_id!r} brings a gallery in the style of artist:{other} (style distance {distance:.4f} "
                f"< {policy.threshold:g}); an operator may register it with --allow-similar-to {other} --reason TEXT.")
    if allowed is None:
        return
    if not close:
        raise ValueError(f"Artist {artist_id!r} is not within the style distance of artist:{allowed}; "
                         "register it without --allow-similar-to.")
    connection.execute(insert(ArtistStyleAllowanceRow.__table__).values(
        artist_id=artist_id, similar_to=allowed, distance=close[0][0], threshold=policy.threshold,
        reason=policy.reason.strip(), created_at=datetime.now(UTC)))


def style_allowances(engine) -> list[dict]:
    """Every recorded allowance, oldest first."""
    table = ArtistStyleAllowanceRow.__table__
    with engine.connect() as connection:
        rows = connection.execute(select(table).order_by(table.c.created_at, table.c.artist_id)).mappings().all()
    return [dict(row) for row in rows]
