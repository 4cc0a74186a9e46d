"""Registry lookups for the services: platform keys, artists, galleries, worker keys.

Reads go to the registry tables (`ledger.parties.registry`) and are cached for at most `ttl_s`
seconds, so a revoked key stops being trusted within that time and a platform or artist
registered while the services run is seen without a restart; a miss re-reads at most once
per `miss_refresh_s`, so an unknown id costs no query storm. A database that cannot be
reached is a `TransientError`: the stream retries the batch with backoff instead of
dead-lettering good records.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Engine

import numpy as np

from fairsplit.request import Gallery
from ledger.crypto import load_public_key
from ledger.books.db import is_transient
from ledger.books.events import recorded_bodies
from ledger.parties.registry import WORKER_ROLE, Artist, active_platform_keys, artist_thumbnails, get_artists, service_keys
from services.stream import TransientError, reason_of

T = TypeVar("T")


def stored_gallery(artist: Artist) -> Gallery:
    """The attribution core's view of a registered artist's gallery."""
    return Gallery(np.asarray(artist.gallery, dtype=np.float32), artist.gallery_count, artist.gallery_model_id)


@dataclass
class _Cached:
    """A dict re-loaded by `load()` when older than `ttl_s`, or on a miss after `miss_refresh_s`."""

    load: Callable[[], Mapping]
    ttl_s: float
    miss_refresh_s: float
    data: Mapping = field(default_factory=dict)
    loaded_at: float = float("-inf")

    def get_many(self, keys: Sequence[str]) -> dict:
        age = time.monotonic() - self.loaded_at
        if age >= self.ttl_s or (age >= self.miss_refresh_s and any(k not in self.data for k in keys)):
            self.data = read(self.load)
            self.loaded_at = time.monotonic()
        return {k: self.data[k] for k in keys if k in self.data}


def read(load: Callable[[], T]) -> T:
    """`load()`, with an unreachable database turned into a `TransientError` (retried)."""
    try:
        return load()
    except Exception as exc:
        if is_transient(exc):
            raise TransientError(f"the ledger database cannot be read: {reason_of(exc)}") from exc
        raise


class RegistryLookups:
    def __init__(self, engine: Engine, ttl_s: float = 5.0, miss_refresh_s: float = 1.0) -> None:
        def platforms() -> dict[str, list[Ed25519PublicKey]]:
            return {p: [load_public_key(pem.encode()) for pem in pems] for p, pems in active_platform_keys(engine).items()}

        def workers() -> dict[str, Ed25519PublicKey]:
            return {k: load_public_key(pem.encode()) for k, pem in service_keys(engine, WORKER_ROLE).items()}

        self.engine = engine
        self._platforms = _Cached(platforms, ttl_s, miss_refresh_s)
        self._artists = _Cached(lambda: get_artists(engine), ttl_s, miss_refresh_s)
        self._workers = _Cached(workers, ttl_s, miss_refresh_s)

    def platform_keys(self, platform_id: str) -> list[Ed25519PublicKey] | None:
        """The platform's active keys ([] when all are revoked); None when it is not registered."""
        return self._platforms.get_many([platform_id]).get(platform_id)

    def known_artists(self, artist_ids: list[str]) -> set[str]:
        return set(self._artists.get_many(artist_ids))

    def galleries(self, artist_ids: list[str]) -> dict[str, Gallery]:
        """Stored galleries of the registered artists among `artist_ids`."""
        return {a: stored_gallery(x) for a, x in self._artists.get_many(artist_ids).items()}

    def work(self, artist_id: str, index: int) -> bytes | None:
        """The PNG of a registered work `artist_id/index` (image mixing); None if there is none."""
        works = read(lambda: artist_thumbnails(self.engine, artist_id))
        return works[index] if 0 <= index < len(works) else None

    def worker_key(self, key_id: str) -> Ed25519PublicKey | None:
        """An enrolled, unrevoked worker key; None otherwise."""
        return self._workers.get_many([key_id]).get(key_id)

    def recorded(self, event_ids: list[str]) -> dict[str, str]:
        """event id → body hash of those already recorded (never cached: it is what pays)."""
        return read(lambda: recorded_bodies(self.engine, event_ids))
