"""Who may take part: registered artists (with their gallery embeddings), platforms (with
the public keys their events must be signed with) and service keys (attribution workers
whose signed results the ledger writer accepts).

Registries are reference data, not money: they are written by operators through the CLI
and read by the services. An id is registered once; registering it again with the same
content is a no-op, with different content an error (a key or gallery is never silently
swapped under recorded money).

Key lifecycle (nothing is ever trusted implicitly):
- a platform's keys are `platform_keys` rows; `rotate_platform_key` adds the new key and
  revokes the others in one transaction, `revoke_platform_keys` revokes without a
  replacement (the platform's events are refused until it has a key again);
- a service key is trusted only once an operator enrols it (`enroll_service_key`), and
  never again once revoked (`revoke_service_key`);
- a revocation is a `key_revocations` row: from `revoked_at` on, nothing signed by that
  key is accepted; what was booked before stays, and stays verifiable.
Every key change is also a `key` entry of the log, written in the same transaction under
the chain lock (`ledger.keys.entries`): the tables serve lookups, the log is the authority
verification reads (a key row written straight into a table is trusted by nothing that
checks money).
"""

from __future__ import annotations

import array
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from ledger.crypto import key_id, load_public_key
from ledger.books.db import WRITE_OPTION
from ledger.books.encoding import utc
from ledger.errors import LedgerError, SigningKeyError
from ledger.ids import is_slug
from ledger.keys.entries import anchor_specs, platform_key_entry, service_key_entry
from ledger.keys.roles import key_problem
from ledger.books.store import Ledger, TransferSpec
from ledger.books.schema import (ArtistRow, ArtistWorkRow, KeyRevocationRow, PlatformKeyRow, PlatformRow,
                           ServiceKeyRow)
from ledger.parties.style_allowances import StylePolicy, check_style



class RegistryError(LedgerError, ValueError):
    """An id is unknown, malformed, or already registered with different content."""


@dataclass(frozen=True)
class Artist:
    artist_id: str
    name: str
    gallery: tuple[float, ...]
    gallery_count: int
    gallery_model_id: str


def _check_id(kind: str, value: str) -> str:
    if not is_slug(value):
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
    style: StylePolicy | None = None,
) -> bool:
    """Register an artist with the embedding of their reference works (and small PNG
    thumbnails of a few of them, for pictures); True if new. With `style`, a gallery in a
    registered artist's style is refused unless allowed (`ledger.parties.style_allowances`)."""
    _check_id("Artist", artist_id)
    if not name.strip() or "\x00" in name or len(name) > 200:
        raise RegistryError("An artist needs a name of 1-200 characters (no NUL).")
    if gallery_count < 1 or not gallery:
        raise RegistryError(f"Artist {artist_id!r} needs a gallery of at least one image.")
    blob = _pack(gallery)
    values = dict(
        artist_id=artist_id, name=name, gallery=blob, gallery_dim=len(gallery),
        gallery_count=gallery_count, gallery_model_id=gallery_model_id, created_at=datetime.now(UTC),
    )
    works = [{"artist_id": artist_id, "idx": i, "thumbnail_png": png} for i, png in enumerate(thumbnails)]

    def new_registration(connection) -> None:
        _refuse_shared_works(connection, artist_id, blob, list(thumbnails))
        if style is not None:
            try:
                check_style(connection, artist_id, _unpack(blob), gallery_model_id, style, _unpack)
            except ValueError as exc:
                raise RegistryError(str(exc)) from None
        if works:
            connection.execute(insert(ArtistWorkRow.__table__), works)

    return _insert_once(
        engine, ArtistRow.__table__, ArtistRow.__table__.c.artist_id, artist_id, values,
        lambda row: (row["name"], bytes(row["gallery"]), row["gallery_model_id"]) == (name, blob, gallery_model_id),
        new_registration,
    )


def _refuse_shared_works(connection, artist_id: str, gallery: bytes, thumbnails: list[bytes]) -> None:
    """An alias is refused at the door: a second id registered with another artist's works
    would be named beside the first and share in what only that artist's style earned (the
    Shapley split cannot tell two ids of one style apart). Same gallery embedding or any
    same work thumbnail as a registered artist → refused, inside the registering transaction."""
    artists, works = ArtistRow.__table__, ArtistWorkRow.__table__
    other = connection.execute(select(artists.c.artist_id).where(
        artists.c.gallery == gallery, artists.c.artist_id != artist_id).limit(1)).scalar()
    if other is None and thumbnails:
        other = connection.execute(select(works.c.artist_id).where(
            works.c.thumbnail_png.in_(thumbnails), works.c.artist_id != artist_id).limit(1)).scalar()
    if other is not None:
        raise RegistryError(f"Artist {artist_id!r} brings works already registered to artist:{other}; "
                            "each artist registers only their own works.")


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


WORKER_ROLE = "attribution-worker"  # signs attribution results the ledger writer books
SERVICE_ROLES = (WORKER_ROLE,)


@dataclass(frozen=True)
class RegisteredKey:
    """A platform or service public key and its state."""

    key_id: str
    owner: str  # "platform" | "service"
    holder: str  # the platform id, or the service role
    public_key_pem: str
    created_at: datetime
    revoked_at: datetime | None = None
    reason: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _pem_and_id(public_key_pem: str) -> tuple[str, str]:
    """The stored form of a PEM public key and its key id; refuses what is not Ed25519."""
    try:
        public = load_public_key(public_key_pem.encode())
    except SigningKeyError as exc:
        raise RegistryError(str(exc)) from None
    return public_key_pem.strip() + "\n", key_id(public)


def _revoked(connection, owner: str) -> dict[str, tuple[datetime, str]]:
    table = KeyRevocationRow.__table__
    rows = connection.execute(select(table.c.key_id, table.c.revoked_at, table.c.reason).where(table.c.owner == owner))
    return {k: (utc(at), reason) for k, at, reason in rows}


def _revoke(connection, owner: str, key_ids: Sequence[str], reason: str, now: datetime) -> None:
    if key_ids:
        connection.execute(insert(KeyRevocationRow.__table__), [
            {"owner": owner, "key_id": k, "revoked_at": now, "reason": reason} for k in key_ids])


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason or "\x00" in reason or len(reason) > 500:
        raise RegistryError("A revocation needs a reason of 1-500 characters (--reason).")
    return reason


def add_platform(ledger: Ledger, platform_id: str, public_key_pem: str) -> bool:
    """Register a platform with the Ed25519 public key its events are signed with; its
    `add` entry lands in the log in the same transaction (`ledger.keys.entries`)."""
    _check_id("Platform", platform_id)
    pem, platform_key_id = _pem_and_id(public_key_pem)
    now = datetime.now(UTC)
    table, keys = PlatformRow.__table__, PlatformKeyRow.__table__
    added: list[bool] = []

    def decide(connection) -> list[TransferSpec]:
        row = connection.execute(select(table).where(table.c.platform_id == platform_id)).mappings().first()
        if row is not None:
            if row["public_key_pem"] != pem:
                raise RegistryError(f"{platform_id!r} is already registered with different content.")
            return []
        _refuse_key(connection, platform_key_id, f"platform:{platform_id}")
        anchor = anchor_specs(connection, now)
        connection.execute(insert(table).values(platform_id=platform_id, public_key_pem=pem,
                                                fingerprint=platform_key_id, created_at=now))
        connection.execute(insert(keys).values(key_id=platform_key_id, platform_id=platform_id,
                                               public_key_pem=pem, created_at=now))
        added.append(True)
        return [*anchor, platform_key_entry("add", platform_id, platform_key_id, pem, "registered", now)]

    ledger.append_decided(decide)
    return bool(added)


def _refuse_key(connection, key: str, role: str) -> None:
    """One key, one role, trusted once (`ledger.keys.roles`); called inside every registering transaction."""
    problem = key_problem(connection, key, role)
    if problem is not None:
        raise RegistryError(problem)


def platform_ids(engine: Engine) -> list[str]:
    table = PlatformRow.__table__
    with engine.connect() as connection:
        return list(connection.execute(select(table.c.platform_id).order_by(table.c.platform_id)).scalars())


def platform_key_history(engine: Engine, platform_id: str | None = None) -> list[RegisteredKey]:
    """Every key of every (or one) platform, oldest first, with its revocation if any."""
    table = PlatformKeyRow.__table__
    query = select(table).order_by(table.c.platform_id, table.c.created_at, table.c.key_id)
    if platform_id is not None:
        query = query.where(table.c.platform_id == platform_id)
    with engine.connect() as connection:
        revoked = _revoked(connection, "platform")
        rows = connection.execute(query).mappings().all()
    return [RegisteredKey(row["key_id"], "platform", row["platform_id"], row["public_key_pem"], utc(row["created_at"]),
                          *revoked.get(row["key_id"], (None, None))) for row in rows]


def active_platform_keys(engine: Engine) -> dict[str, list[str]]:
    """platform_id → the PEM public keys its events may be signed with now (usually one;
    none when every key of the platform is revoked), for every registered platform."""
    keys: dict[str, list[str]] = {}
    for key in platform_key_history(engine):
        keys.setdefault(key.holder, [])
        if key.active:
            keys[key.holder].append(key.public_key_pem)
    return keys


def rotate_platform_key(ledger: Ledger, platform_id: str, public_key_pem: str) -> tuple[str, list[str]]:
    """Add a new key for the platform and revoke its other keys, atomically, in the log too.

    Returns (the new key id, the key ids revoked). Events signed with a revoked key are
    refused from now on; those booked before keep their record.
    """
    _check_id("Platform", platform_id)
    pem, new_id = _pem_and_id(public_key_pem)
    now = datetime.now(UTC)
    table = PlatformKeyRow.__table__
    revoked_now: list[str] = []

    def decide(connection) -> list[TransferSpec]:
        if connection.execute(select(PlatformRow.__table__.c.platform_id)
                              .where(PlatformRow.__table__.c.platform_id == platform_id)).first() is None:
            raise RegistryError(f"Platform {platform_id!r} is not registered.")
        if connection.execute(select(table.c.key_id).where(table.c.key_id == new_id)).first() is not None:
            raise RegistryError(f"Key {new_id} was registered before; a rotation needs a new key.")
        _refuse_key(connection, new_id, f"platform:{platform_id}")
        anchor = anchor_specs(connection, now)
        current = _active_platform_rows(connection, platform_id)
        connection.execute(insert(table).values(key_id=new_id, platform_id=platform_id, public_key_pem=pem, created_at=now))
        reason = f"rotated to {new_id}"
        _revoke(connection, "platform", [k for k, _ in current], reason, now)
        revoked_now.extend(k for k, _ in current)
        return [*anchor, platform_key_entry("add", platform_id, new_id, pem, "rotation", now),
                *(platform_key_entry("revoke", platform_id, k, old, reason, now) for k, old in current)]

    ledger.append_decided(decide)
    return new_id, revoked_now


def _active_platform_rows(connection, platform_id: str) -> list[tuple[str, str]]:
    """(key id, PEM) of the platform's unrevoked keys."""
    table, revoked = PlatformKeyRow.__table__, _revoked(connection, "platform")
    rows = connection.execute(select(table.c.key_id, table.c.public_key_pem).where(table.c.platform_id == platform_id)
                              .order_by(table.c.created_at, table.c.key_id))
    return [(k, pem) for k, pem in rows if k not in revoked]


def revoke_platform_keys(ledger: Ledger, platform_id: str, reason: str, only: str | None = None) -> list[str]:
    """Revoke the platform's active keys (or the one `only` names), in the log too; returns the ids revoked."""
    reason = _check_reason(reason)
    table = PlatformKeyRow.__table__
    now = datetime.now(UTC)
    targets: list[str] = []

    def decide(connection) -> list[TransferSpec]:
        keys = list(connection.execute(select(table.c.key_id).where(table.c.platform_id == platform_id)).scalars())
        if not keys:
            raise RegistryError(f"Platform {platform_id!r} is not registered.")
        if only is not None and only not in keys:
            raise RegistryError(f"Key {only!r} is not a key of platform {platform_id!r}.")
        anchor = anchor_specs(connection, now)
        chosen = [(k, pem) for k, pem in _active_platform_rows(connection, platform_id) if only is None or k == only]
        if not chosen:
            raise RegistryError(f"Platform {platform_id!r} has no active key to revoke.")
        _revoke(connection, "platform", [k for k, _ in chosen], reason, now)
        targets.extend(k for k, _ in chosen)
        return [*anchor, *(platform_key_entry("revoke", platform_id, k, pem, reason, now) for k, pem in chosen)]

    ledger.append_decided(decide)
    return targets


def enroll_service_key(ledger: Ledger, role: str, public_key_pem: str) -> tuple[str, bool]:
    """Trust a service's public key (an operator's explicit act, recorded in the log); (key id, newly enrolled)."""
    if role not in SERVICE_ROLES:
        raise RegistryError(f"Unknown service role {role!r}; roles: {', '.join(SERVICE_ROLES)}.")
    pem, service_key_id = _pem_and_id(public_key_pem)
    table = ServiceKeyRow.__table__
    now = datetime.now(UTC)
    enrolled: list[bool] = []

    def decide(connection) -> list[TransferSpec]:
        if service_key_id in _revoked(connection, "service"):
            raise RegistryError(f"Key {service_key_id} was revoked; enrol a new key instead.")
        row = connection.execute(select(table).where(table.c.key_id == service_key_id)).mappings().first()
        if row is not None:
            if row["role"] != role:
                raise RegistryError(f"Key {service_key_id} is already enrolled as {row['role']}.")
            return []
        _refuse_key(connection, service_key_id, role)
        anchor = anchor_specs(connection, now)
        connection.execute(insert(table).values(key_id=service_key_id, role=role, public_key_pem=pem, created_at=now))
        enrolled.append(True)
        return [*anchor, service_key_entry("add", role, service_key_id, pem, "enrolled", now)]

    ledger.append_decided(decide)
    return service_key_id, bool(enrolled)


def revoke_service_key(ledger: Ledger, service_key_id: str, reason: str) -> RegisteredKey:
    """Stop trusting an enrolled service key from now on (recorded in the log)."""
    reason = _check_reason(reason)
    table = ServiceKeyRow.__table__
    now = datetime.now(UTC)
    found: list = []

    def decide(connection) -> list[TransferSpec]:
        row = connection.execute(select(table).where(table.c.key_id == service_key_id)).mappings().first()
        if row is None:
            raise RegistryError(f"Key {service_key_id!r} is not an enrolled service key (see `fairsplit keys list`).")
        if service_key_id in _revoked(connection, "service"):
            raise RegistryError(f"Key {service_key_id} is already revoked.")
        anchor = anchor_specs(connection, now)
        _revoke(connection, "service", [service_key_id], reason, now)
        found.append(row)
        return [*anchor, service_key_entry("revoke", row["role"], service_key_id, row["public_key_pem"], reason, now)]

    ledger.append_decided(decide)
    row = found[0]
    return RegisteredKey(service_key_id, "service", row["role"], row["public_key_pem"], utc(row["created_at"]), now, reason)


def service_key_history(engine: Engine) -> list[RegisteredKey]:
    """Every enrolled service key, oldest first, with its revocation if any."""
    table = ServiceKeyRow.__table__
    with engine.connect() as connection:
        revoked = _revoked(connection, "service")
        rows = connection.execute(select(table).order_by(table.c.created_at, table.c.key_id)).mappings().all()
    return [RegisteredKey(row["key_id"], "service", row["role"], row["public_key_pem"], utc(row["created_at"]),
                          *revoked.get(row["key_id"], (None, None))) for row in rows]


def service_keys(engine: Engine, role: str) -> dict[str, str]:
    """key_id → public key PEM for every enrolled, unrevoked key of `role`."""
    return {key.key_id: key.public_key_pem for key in service_key_history(engine) if key.holder == role and key.active}
