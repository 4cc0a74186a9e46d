"""The ledger's public keys file: what an artist is given to verify proofs offline.

A PEM file with explanatory lines (RFC 7468 allows text outside the PEM blocks):

    # fairsplit ledger public keys
    # origin: fairsplit/ledger

    # key_id: 3f2a9c0d1b7e4a55
    # created_at: 2026-11-24T12:00:00.000000Z
    # retired_at: 2026-12-01T09:30:00.000000Z
    -----BEGIN PUBLIC KEY-----
    MCowBQYDK2VwAyEA…
    -----END PUBLIC KEY-----

One block per key, current and retired. A key signed entries and checkpoints made in
[created_at, retired_at); `retired_at: -` means it is still in use. A plain PEM public key
without any `#` lines is accepted too and is then valid at any time. `key_id` is the first
16 hex digits of SHA-256 over the raw public key (`ledger.crypto.key_id`), checked on
load. This module needs no database: the offline verifier imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.checkpoint import CheckpointError, NoteKey, format_time, parse_time
from ledger.crypto import key_id as public_key_id
_BEGIN, _END = "-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----"
MAX_KEYRING_BYTES = 1 << 20


class KeyringError(ValueError):
    """A public keys file that cannot be read, or a key not valid for what it signed."""


@dataclass(frozen=True)
class PublicKeyInfo:
    key_id: str
    public_key: Ed25519PublicKey
    created_at: datetime | None = None
    retired_at: datetime | None = None

    def problem_at(self, moment: datetime | None) -> str | None:
        """Why this key could not have signed at `moment` (None: it could)."""
        if moment is None:
            return None if self.retired_at is None else f"key {self.key_id} is retired and the signature carries no time"
        if self.created_at is not None and moment < self.created_at:
            return f"key {self.key_id} was created at {format_time(self.created_at)}, after {format_time(moment)}"
        if self.retired_at is not None and moment >= self.retired_at:
            return f"key {self.key_id} was retired at {format_time(self.retired_at)}, before {format_time(moment)}"
        return None


@dataclass(frozen=True)
class Keyring:
    origin: str | None
    keys: tuple[PublicKeyInfo, ...]

    def get(self, key_id: str) -> PublicKeyInfo:
        for info in self.keys:
            if info.key_id == key_id:
                return info
        raise KeyringError(f"Key {key_id!r} is not in the public keys file.")

    def key_valid_at(self, key_id: str, moment: datetime | None) -> Ed25519PublicKey:
        """The public key `key_id`, if it was in use at `moment`; else KeyringError."""
        info = self.get(key_id)
        problem = info.problem_at(moment)
        if problem is not None:
            raise KeyringError(f"Signed with a key not valid at the time: {problem}.")
        return info.public_key

    def note_keys(self, name: str) -> list[NoteKey]:
        return [NoteKey(name, info.public_key) for info in self.keys]

    def render(self) -> str:
        lines = ["# fairsplit ledger public keys"]
        if self.origin:
            lines.append(f"# origin: {self.origin}")
        for info in self.keys:
            pem = info.public_key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ).decode()
            lines += [
                "",
                f"# key_id: {info.key_id}",
                f"# created_at: {format_time(info.created_at) if info.created_at else '-'}",
                f"# retired_at: {format_time(info.retired_at) if info.retired_at else '-'}",
                pem.rstrip("\n"),
            ]
        return "\n".join(lines) + "\n"


def _meta_time(meta: dict[str, str], name: str) -> datetime | None:
    value = meta.get(name, "-")
    if value == "-":
        return None
    try:
        return parse_time(value, f"The {name} of a key")
    except CheckpointError as exc:
        raise KeyringError(str(exc)) from None


def parse_keyring(data: str | bytes) -> Keyring:
    """Read a public keys file (see the module docstring); KeyringError when malformed."""
    if isinstance(data, bytes):
        if len(data) > MAX_KEYRING_BYTES:
            raise KeyringError("The public keys file is too large.")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise KeyringError("The public keys file is not UTF-8 text.") from None
    origin, meta, keys, block = None, {}, [], None
    for line in data.splitlines():
        line = line.strip()
        if block is not None:
            block.append(line)
            if line == _END:
                keys.append(_key_from(block, meta))
                meta, block = {}, None
        elif line == _BEGIN:
            block = [line]
        elif line.startswith("#") and ":" in line:
            name, _, value = line[1:].partition(":")
            name, value = name.strip(), value.strip()
            if name == "origin":
                origin = value
            else:
                meta[name] = value
    if block is not None:
        raise KeyringError("The public keys file ends inside a PEM block.")
    if not keys:
        raise KeyringError("The public keys file holds no PEM public key.")
    return Keyring(origin, tuple(keys))


def _key_from(block: list[str], meta: dict[str, str]) -> PublicKeyInfo:
    try:
        public_key = serialization.load_pem_public_key("\n".join(block).encode())
    except (ValueError, TypeError):
        raise KeyringError("A PEM block in the public keys file is not a public key.") from None
    if not isinstance(public_key, Ed25519PublicKey):
        raise KeyringError("A public key in the public keys file is not an Ed25519 key.")
    key_id = public_key_id(public_key)
    if meta.get("key_id", key_id) != key_id:
        raise KeyringError(f"The public keys file names key {meta['key_id']}, but its PEM block is key {key_id}.")
    return PublicKeyInfo(key_id, public_key, _meta_time(meta, "created_at"), _meta_time(meta, "retired_at"))
