"""The ledger's public keys file: what an artist is given to verify proofs offline.

A PEM file with explanatory lines (RFC 7468 allows text outside the PEM blocks):

    # fairsplit ledger public keys
    # origin: fairsplit/ledger
    # note verifier key: fairsplit/ledger+9c3e1a2b+AXbK…      (of the current key; `keys public --format vkey`)

    # key_id: 3f2a9c0d1b7e4a55
    # first_seq: 1
    # last_seq: 40
    -----BEGIN PUBLIC KEY-----
    MCowBQYDK2VwAyEA…
    -----END PUBLIC KEY-----

One block per key of the log's key history (`ledger.keys.history`), in order: the first
block is the first key (pinned: the history starts there), each next key signs from the
previous one's `last_seq` + 1, and only the last is open (`last_seq: -`). A key signs the
entries of its range; a checkpoint or statement manifest of log size N must be signed by
the key current after entry N. `# legacy_below: M` (a ledger rotated before key entries
existed) also accepts, for sizes below M, the key of entry N. Times are not validity.

Files written before seq ranges (`created_at`/`retired_at` lines) are read only when they
hold one key (then valid from seq 1 on); a bare PEM public key is one key valid from seq 1.
`key_id` is the first 16 hex digits of SHA-256 over the raw public key, checked on load.
This module needs no database: the offline verifier imports it.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.tlog.checkpoint import ED25519_SIGNATURE_TYPE, NoteKey
from ledger.crypto import key_id as public_key_id
from ledger.crypto import public_key_raw
from ledger.keys.history import KeyHistory, KeyRange

_BEGIN, _END = "-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----"
MAX_KEYRING_BYTES = 1 << 20
MAX_KEYS = 10_000
_SEQ = re.compile(r"[1-9][0-9]{0,18}")


class KeyringError(ValueError):
    """A public keys file that cannot be read, or a key not valid for what it signed."""


@dataclass(frozen=True)
class PublicKeyInfo:
    """A ledger key and the entries it signs: [first_seq, last_seq], last_seq None while current."""

    key_id: str
    public_key: Ed25519PublicKey
    first_seq: int = 1
    last_seq: int | None = None


def note_vkey(name: str, public_key: Ed25519PublicKey) -> str:
    """The C2SP signed-note / Go `sumdb/note` verifier key: name+keyhash+base64(0x01 ‖ key)."""
    key_hash = NoteKey(name, public_key).key_hash.hex()
    material = base64.b64encode(ED25519_SIGNATURE_TYPE + public_key_raw(public_key)).decode()
    return f"{name}+{key_hash}+{material}"


@dataclass(frozen=True)
class Keyring:
    origin: str | None
    keys: tuple[PublicKeyInfo, ...]
    legacy_below: int = 0

    def __post_init__(self) -> None:
        expected = 1
        for number, info in enumerate(self.keys):
            last = number == len(self.keys) - 1
            if info.first_seq != expected or (info.last_seq is None) != last or (
                    info.last_seq is not None and info.last_seq < info.first_seq):
                raise KeyringError("The keys' seq ranges must follow each other from seq 1, only the last one open.")
            expected = (info.last_seq or 0) + 1
        if len({info.key_id for info in self.keys}) != len(self.keys):
            raise KeyringError("A key appears twice in the public keys file.")

    def history(self) -> KeyHistory:
        ranges = tuple(KeyRange(i.key_id, i.public_key, i.first_seq, i.last_seq) for i in self.keys)
        return KeyHistory(ranges, self.origin, self.legacy_below)

    def get(self, key_id: str) -> PublicKeyInfo:
        for info in self.keys:
            if info.key_id == key_id:
                return info
        raise KeyringError(f"Key {key_id!r} is not in the public keys file.")

    def key_for_entry(self, key_id: str, seq: int) -> Ed25519PublicKey:
        """The public key `key_id`, if it signs entry `seq`; else KeyringError."""
        info = self.get(key_id)
        problem = self.history().entry_problem(key_id, seq)
        if problem is not None:
            raise KeyringError(f"Signed with a key outside its range: {problem}.")
        return info.public_key

    def key_for_size(self, key_id: str, size: int) -> Ed25519PublicKey:
        """The public key `key_id`, if it signs checkpoints and manifests of log size `size`."""
        info = self.get(key_id)
        problem = self.history().checkpoint_problem(key_id, size)
        if problem is not None:
            raise KeyringError(f"Signed with a key outside its range: {problem}.")
        return info.public_key

    def note_keys(self, name: str) -> list[NoteKey]:
        return [NoteKey(name, info.public_key) for info in self.keys]

    def vkey(self) -> str:
        """The note verifier key of the current key (the one that signs new checkpoints)."""
        if not self.origin:
            raise KeyringError("The public keys file names no origin, so it has no note verifier key.")
        return note_vkey(self.origin, self.keys[-1].public_key)

    def render(self) -> str:
        lines = ["# fairsplit ledger public keys"]
        if self.origin:
            lines += [f"# origin: {self.origin}", f"# note verifier key: {self.vkey()}"]
        if self.legacy_below:
            lines.append(f"# legacy_below: {self.legacy_below}")
        for info in self.keys:
            pem = info.public_key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ).decode()
            lines += ["", f"# key_id: {info.key_id}", f"# first_seq: {info.first_seq}",
                      f"# last_seq: {info.last_seq if info.last_seq is not None else '-'}", pem.rstrip("\n")]
        return "\n".join(lines) + "\n"


def _seq(meta: dict[str, str], name: str, default: int | None) -> int | None:
    value = meta.get(name)
    if value is None or value == "-":
        return default if value is None else None
    if not _SEQ.fullmatch(value):
        raise KeyringError(f"The {name} of a key must be a sequence number (1, 2, …) or '-'.")
    return int(value)


def parse_keyring(data: str | bytes) -> Keyring:
    """Read a public keys file (see the module docstring); KeyringError when malformed."""
    if isinstance(data, bytes):
        if len(data) > MAX_KEYRING_BYTES:
            raise KeyringError("The public keys file is too large.")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise KeyringError("The public keys file is not UTF-8 text.") from None
    origin, legacy_below, meta, keys, block, by_time = None, 0, {}, [], None, False
    for line in data.splitlines():
        line = line.strip()
        if block is not None:
            block.append(line)
            if line == _END:
                by_time |= "retired_at" in meta and "first_seq" not in meta
                keys.append(_key_from(block, meta))
                meta, block = {}, None
                if len(keys) > MAX_KEYS:
                    raise KeyringError("The public keys file holds too many keys.")
        elif line == _BEGIN:
            block = [line]
        elif line.startswith("#") and ":" in line:
            name, _, value = line[1:].partition(":")
            name, value = name.strip(), value.strip()
            if name == "origin":
                origin = value
            elif name == "legacy_below":
                legacy_below = _seq({"legacy_below": value}, "legacy_below", 0) or 0
            else:
                meta[name] = value
    if block is not None:
        raise KeyringError("The public keys file ends inside a PEM block.")
    if not keys:
        raise KeyringError("The public keys file holds no PEM public key.")
    if by_time and len(keys) > 1:
        raise KeyringError("This public keys file states key validity by time, which any key holder can write; "
                           "get the current one (`fairsplit keys public`), which states seq ranges.")
    if by_time:
        keys = [PublicKeyInfo(keys[0].key_id, keys[0].public_key)]
    return Keyring(origin, tuple(keys), legacy_below)


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
    return PublicKeyInfo(key_id, public_key, _seq(meta, "first_seq", 1), _seq(meta, "last_seq", None))
