"""Registry lookups for the services: platform keys, artists, galleries, worker keys.

Reads go to the registry tables (`ledger.registry`) and are cached; a miss re-reads the
registry (at most once per `refresh_s`), so a platform or artist registered while the
services run is seen without a restart, and an unknown id costs no query storm.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Engine

from ledger.registry import get_artists, platform_keys, service_keys
from services.signing import load_public_key


@dataclass
class _Cached:
    """A dict re-loaded by `load()` when a key is missing and `refresh_s` has passed."""

    load: Callable[[], Mapping]
    refresh_s: float
    data: Mapping = field(default_factory=dict)
    loaded_at: float = float("-inf")

    def get_many(self, keys: Sequence[str]) -> dict:
        if any(k not in self.data for k in keys) and time.monotonic() - self.loaded_at >= self.refresh_s:
            self.data = self.load()
            self.loaded_at = time.monotonic()
        return {k: self.data[k] for k in keys if k in self.data}


class RegistryLookups:
    def __init__(self, engine: Engine, worker_role: str, refresh_s: float = 1.0) -> None:
        self._platforms = _Cached(lambda: {k: load_public_key(v.encode()) for k, v in platform_keys(engine).items()}, refresh_s)
        self._artists = _Cached(lambda: get_artists(engine), refresh_s)
        self._workers = _Cached(lambda: {k: load_public_key(v.encode()) for k, v in service_keys(engine, worker_role).items()}, refresh_s)

    def platform_key(self, platform_id: str) -> Ed25519PublicKey | None:
        return self._platforms.get_many([platform_id]).get(platform_id)

    def known_artists(self, artist_ids: list[str]) -> set[str]:
        return set(self._artists.get_many(artist_ids))

    def galleries(self, artist_ids: list[str]) -> dict[str, tuple[tuple[float, ...], int, str]]:
        return {a: (x.gallery, x.gallery_count, x.gallery_model_id) for a, x in self._artists.get_many(artist_ids).items()}

    def worker_key(self, key_id: str) -> Ed25519PublicKey | None:
        return self._workers.get_many([key_id]).get(key_id)
