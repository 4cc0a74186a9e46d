"""“Did you mean …?” for names a person typed: the registered names closest to a typo."""

from __future__ import annotations

import difflib

from sqlalchemy import Engine, select

from ledger.books.schema import ARTISTS, PLATFORMS


def registered(engine: Engine, kind: str) -> list[str]:
    """The registered ids of `kind` (artist or platform)."""
    table, column = (ARTISTS, ARTISTS.c.artist_id) if kind == "artist" else (PLATFORMS, PLATFORMS.c.platform_id)
    with engine.connect() as connection:
        return list(connection.execute(select(column).select_from(table).order_by(column)).scalars())


def did_you_mean(engine: Engine, kind: str, typed: str) -> str:
    """` (did you mean artist:van-gogh?)` when a registered id is close to `typed`, else ``."""
    if kind not in ("artist", "platform"):
        return ""
    close = difflib.get_close_matches(typed, registered(engine, kind), n=3, cutoff=0.7)
    return f" (did you mean {' or '.join(f'{kind}:{name}' for name in close)}?)" if close else ""
