"""Who may take part: registered artists (with their gallery embeddings), platforms (with
the public key their events must be signed with) and service keys (attribution workers
whose signed results the ledger writer accepts).

Registries are reference data, not money: they are written by operators through the CLI
and read by the services. An id is registered once; registering it again with the same
content is a no-op, with different content an error (a key or gallery is never silently
swapped under recorded money).
"""

from __future__ import annotations

import array
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, ForeignKey, Integer, LargeBinary, String, Text, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from ledger.db import WRITE_OPTION
from ledger.errors import LedgerError

ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"


class RegistryError(LedgerError, ValueError):
    """An id is unknown, malformed, or already registered with different content."""


class ArtistRow(SQLModel, table=True):
    __tablename__ = "artists"

    artist_id: str = Field(sa_column=Column(String(64), primary_key=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    gallery: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # float32 little-endian
    gallery_dim: int = Field(sa_column=Column(Integer, nullable=False))
    gallery_count: int = Field(sa_column=Column(Integer, nullable=False))
    gallery_model_id: str = Field(sa_column=Column(String(300), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ArtistWorkRow(SQLModel, table=True):
    __tablename__ = "artist_works"

    artist_id: str = Field(sa_column=Column(String(64), ForeignKey("artists.artist_id"), primary_key=True))
    idx: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    thumbnail_png: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class PlatformRow(SQLModel, table=True):
    __tablename__ = "platforms"

    platform_id: str = Field(sa_column=Column(String(64), primary_key=True))
    public_key_pem: str = Field(sa_column=Column(Text, nullable=False))
    fingerprint: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ServiceKeyRow(SQLModel, table=True):
    __tablename__ = "service_keys"

    key_id: str = Field(sa_column=Column(String(16), primary_key=True))
    role: str = Field(sa_column=Column(String(32), nullable=False))
    public_key_pem: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


@dataclass(frozen=True)
class Artist:
    artist_id: str
    name: str
    gallery: tuple[float, ...]
    gallery_count: int
    gallery_model_id: str


def _check_id(kind: str, value: str) -> str:
    if not isinstance(value, str) or not re.match(ID_PATTERN, value):
        raise RegistryError(
            f"{kind} id {value!r} must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit."
        )
    return value


def _pack(vector: tuple[float, ...] | list[float]) -> bytes:
    packed = array.array("f", vector)
    if packed.itemsize != 4:  # pragma: no cover - every platform we run on
        raise RuntimeError("float32 arrays are not 4 bytes here")
    return packed.tobytes()


def _unpack(blob: bytes) -> tuple[float, ...]:
    return tuple(array.array("f", blob))


def _insert_once(engine: Engine, table, key_column, key: str, values: dict, same, also=None) -> bool:
    """Insert `values` unless `key` exists; True when inserted. `same(row)` decides whether
    an existing row is the same registration (no-op) or a conflict; `also(connection)`
    writes what belongs to a new registration, in the same transaction.

    Safe when several processes register at once (workers started together): the loser
    of the race sees the winner's row on its second look."""
    try:
        return _insert_if_absent(engine, table, key_column, key, values, same, also)
    except IntegrityError:
        return _insert_if_absent(engine, table, key_column, key, values, same, also)


def _insert_if_absent(engine: Engine, table, key_column, key: str, values: dict, same, also) -> bool:
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:  # SQLite: writers queue
        row = connection.execute(select(table).where(key_column == key)).mappings().first()
        if row is not None:
            if not same(row):
                raise RegistryError(f"{key!r} is already registered with different content.")
            return False
        connection.execute(insert(table).values(**values))
        if also is not None:
            also(connection)
    return True


# --- artists -------------------------------------------------------------------------


def add_artist(
    engine: Engine,
    artist_id: str,
    name: str,
    gallery: tuple[float, ...] | list[float],
    gallery_count: int,
    gallery_model_id: str,
    thumbnails: Sequence[bytes] = (),
) -> bool:
    """Register an artist with the embedding of their reference works (and small PNG
    thumbnails of a few of them, for pictures); True if new."""
    _check_id("Artist", artist_id)
    if not name.strip():
        raise RegistryError("An artist needs a non-empty name.")
    if gallery_count < 1 or not gallery:
        raise RegistryError(f"Artist {artist_id!r} needs a gallery of at least one image.")
    blob = _pack(gallery)
    values = dict(
        artist_id=artist_id, name=name, gallery=blob, gallery_dim=len(gallery),
        gallery_count=gallery_count, gallery_model_id=gallery_model_id, created_at=datetime.now(UTC),
    )
    works = [{"artist_id": artist_id, "idx": i, "thumbnail_png": png} for i, png in enumerate(thumbnails)]
    return _insert_once(
        engine, ArtistRow.__table__, ArtistRow.__table__.c.artist_id, artist_id, values,
        lambda row: (row["name"], bytes(row["gallery"]), row["gallery_model_id"]) == (name, blob, gallery_model_id),
        (lambda connection: connection.execute(insert(ArtistWorkRow.__table__), works)) if works else None,
    )


def artist_thumbnails(engine: Engine, artist_id: str) -> list[bytes]:
    """The stored thumbnails of an artist's works (PNG bytes), in order."""
    table = ArtistWorkRow.__table__
    with engine.connect() as connection:
        rows = connection.execute(select(table.c.thumbnail_png).where(table.c.artist_id == artist_id).order_by(table.c.idx))
        return [bytes(png) for png in rows.scalars()]


def _artist(row) -> Artist:
    return Artist(row["artist_id"], row["name"], _unpack(bytes(row["gallery"])), row["gallery_count"], row["gallery_model_id"])


def get_artists(engine: Engine, artist_ids: list[str] | None = None) -> dict[str, Artist]:
    """Registered artists by id (all of them when `artist_ids` is None)."""
    table = ArtistRow.__table__
    query = select(table).order_by(table.c.artist_id)
    if artist_ids is not None:
        query = query.where(table.c.artist_id.in_(artist_ids))
    with engine.connect() as connection:
        return {row["artist_id"]: _artist(row) for row in connection.execute(query).mappings()}


# --- platforms and service keys --------------------------------------------------------


def fingerprint(public_key_pem: str) -> str:
    return hashlib.sha256(public_key_pem.strip().encode()).hexdigest()


def add_platform(engine: Engine, platform_id: str, public_key_pem: str) -> bool:
    """Register a platform with the Ed25519 public key its events are signed with."""
    _check_id("Platform", platform_id)
    pem = public_key_pem.strip() + "\n"
    values = dict(platform_id=platform_id, public_key_pem=pem, fingerprint=fingerprint(pem), created_at=datetime.now(UTC))
    table = PlatformRow.__table__
    return _insert_once(engine, table, table.c.platform_id, platform_id, values, lambda row: row["public_key_pem"] == pem)


def platform_keys(engine: Engine) -> dict[str, str]:
    """platform_id → public key PEM, for every registered platform."""
    table = PlatformRow.__table__
    with engine.connect() as connection:
        return dict(connection.execute(select(table.c.platform_id, table.c.public_key_pem)).all())


def add_service_key(engine: Engine, key_id: str, role: str, public_key_pem: str) -> bool:
    """Register the public key of a service (e.g. an attribution worker) whose output is trusted."""
    pem = public_key_pem.strip() + "\n"
    values = dict(key_id=key_id, role=role, public_key_pem=pem, created_at=datetime.now(UTC))
    table = ServiceKeyRow.__table__
    return _insert_once(engine, table, table.c.key_id, key_id, values, lambda row: row["public_key_pem"] == pem)


def service_keys(engine: Engine, role: str) -> dict[str, str]:
    """key_id → public key PEM for every registered key of `role`."""
    table = ServiceKeyRow.__table__
    with engine.connect() as connection:
        rows = connection.execute(select(table.c.key_id, table.c.public_key_pem).where(table.c.role == role))
        return dict(rows.all())
