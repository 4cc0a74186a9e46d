"""Checkpoints: signed tree heads in the C2SP tlog-checkpoint and signed-note formats.

A checkpoint's note text is (C2SP tlog-checkpoint):

    <origin>\\n
    <tree size, decimal, no leading zeros>\\n
    <root hash, standard base64 of 32 bytes>\\n
    time <issue time, YYYY-MM-DDTHH:MM:SS.ffffffZ>\\n      (fairsplit's one extension line)

and the signed note (C2SP signed-note) is that text, a blank line, then one line per
signature: U+2014 em dash, space, key name (the origin), space, and base64 of the 4-byte
key hash followed by the 64-byte Ed25519 signature of the text. The key hash is the first
4 bytes of SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ 32-byte public key).

The issue time lets a verifier holding the ledger's public keys file check that the key
that signed was not retired before the checkpoint was made.

Parsing is strict and total: every malformed input raises `CheckpointError` with one
sentence; nothing else escapes, and nothing malformed is ever reported as verified.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.tlog.merkle import HASH_SIZE, MAX_TREE_SIZE

MAX_NOTE_BYTES = 1 << 20
MAX_SIGNATURES = 100
ED25519_SIGNATURE_TYPE = b"\x01"
SIGNATURE_PREFIX = "\u2014 "
TIME_EXTENSION = "time "
_RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)
_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")


class CheckpointError(ValueError):
    """A note or checkpoint that is malformed, unsigned by a trusted key or badly signed."""


def b64decode_strict(text: str, what: str) -> bytes:
    """Standard base64 (RFC 4648 §4), padding required, nothing else allowed."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise CheckpointError(f"{what} is not valid base64.") from None
    if base64.b64encode(data).decode() != text:
        raise CheckpointError(f"{what} is not canonical base64.")
    return data


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_time(text: str, what: str = "The time") -> datetime:
    if not isinstance(text, str) or not _TIME.fullmatch(text):
        raise CheckpointError(f"{what} must be written YYYY-MM-DDTHH:MM:SS.ffffffZ.")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        raise CheckpointError(f"{what} {text!r} is not a real date and time.") from None


# --- signed notes --------------------------------------------------------------------


@dataclass(frozen=True)
class NoteKey:
    """A named Ed25519 public key that may sign notes."""

    name: str
    public_key: Ed25519PublicKey

    @property
    def key_hash(self) -> bytes:
        raw = self.public_key.public_bytes(*_RAW)
        return hashlib.sha256(self.name.encode() + b"\n" + ED25519_SIGNATURE_TYPE + raw).digest()[:4]


def check_key_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" or ord(c) < 0x20 for c in name):
        raise CheckpointError(f"Key name {name!r} must be non-empty, without spaces or '+'.")


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """The signed note of `text` (which must end in a newline) with one signature line."""
    _check_text(text)
    check_key_name(name)
    key = NoteKey(name, private_key.public_key())
    signature = private_key.sign(text.encode())
    line = SIGNATURE_PREFIX + name + " " + base64.b64encode(key.key_hash + signature).decode()
    return f"{text}\n{line}\n"


def _check_text(text: str) -> None:
    if not text.endswith("\n") or "\n\n" in text or text.startswith("\n"):
        raise CheckpointError("A note's text must be non-empty lines, each ending in a newline.")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise CheckpointError("A note must not contain control characters other than newline.")


def parse_note(note: str | bytes) -> tuple[str, list[tuple[str, bytes]]]:
    """Split a signed note into its text and its signature lines [(key name, key id ‖ signature)].

    Structure only (C2SP signed-note): nothing is verified here; `CheckpointError` for
    anything malformed.
    """
    if isinstance(note, bytes):
        if len(note) > MAX_NOTE_BYTES:
            raise CheckpointError(f"The note is larger than {MAX_NOTE_BYTES} bytes.")
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise CheckpointError("The note is not valid UTF-8.") from None
    if not isinstance(note, str):
        raise CheckpointError("The note must be text.")
    if len(note) > MAX_NOTE_BYTES:
        raise CheckpointError(f"The note is larger than {MAX_NOTE_BYTES} bytes.")
    try:
        note.encode("utf-8")
    except UnicodeEncodeError:
        raise CheckpointError("The note is not valid UTF-8.") from None
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError("The note has no blank line before its signatures.")
    text, signature_block = note[: split + 1], note[split + 2 :]
    _check_text(text)
    if not signature_block.endswith("\n"):
        raise CheckpointError("The note's last signature line does not end in a newline.")
    lines = signature_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"The note has more than {MAX_SIGNATURES} signature lines.")
    return text, [_signature_line(line) for line in lines]


def open_note(note: str | bytes, keys: Iterable[NoteKey]) -> tuple[str, NoteKey]:
    """Check `note`'s signatures; returns (text, the trusted key that signed it).

    Signature lines from unknown keys are ignored (C2SP signed-note); a line from a known
    key whose signature does not verify rejects the whole note.
    """
    text, signatures = parse_note(note)
    known: dict[tuple[str, bytes], NoteKey] = {(key.name, key.key_hash): key for key in keys}
    signed_by = None
    for name, blob in signatures:
        key = known.get((name, blob[:4]))
        if key is None:
            continue
        try:
            key.public_key.verify(blob[4:], text.encode())
        except InvalidSignature:
            raise CheckpointError(f"The signature by {name} does not verify: the note was altered.") from None
        signed_by = signed_by or key
    if signed_by is None:
        raise CheckpointError("The note carries no signature by any of the trusted public keys.")
    return text, signed_by


def _signature_line(line: str) -> tuple[str, bytes]:
    if not line.startswith(SIGNATURE_PREFIX):
        raise CheckpointError("A signature line must start with an em dash and a space.")
    name, space, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
    check_key_name(name)
    if not space:
        raise CheckpointError(f"The signature line of {name} has no signature.")
    blob = b64decode_strict(encoded, f"The signature by {name}")
    if len(blob) < 5:
        raise CheckpointError(f"The signature by {name} is too short.")
    return name, blob


# --- checkpoints ---------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log `origin`, its `size` and the RFC 6962 `root_hash` at that size."""

    origin: str
    size: int
    root_hash: bytes
    issued_at: datetime | None = None

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode()]
        if self.issued_at is not None:
            lines.append(TIME_EXTENSION + format_time(self.issued_at))
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint's note text (strictly)."""
        _check_text(text)
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError("A checkpoint needs an origin, a tree size and a root hash line.")
        origin, size_text, root_text, *extensions = lines
        if not origin.strip():
            raise CheckpointError("The checkpoint's origin line is empty.")
        if not _SIZE.fullmatch(size_text) or int(size_text) > MAX_TREE_SIZE:
            raise CheckpointError("The checkpoint's tree size must be a decimal number of at most 2^63-1 without leading zeros.")
        root = b64decode_strict(root_text, "The checkpoint's root hash")
        if len(root) != HASH_SIZE:
            raise CheckpointError(f"The checkpoint's root hash must be {HASH_SIZE} bytes, not {len(root)}.")
        issued_at = None
        for line in extensions:
            if line.startswith(TIME_EXTENSION):
                if issued_at is not None:
                    raise CheckpointError("The checkpoint has two time lines.")
                issued_at = parse_time(line[len(TIME_EXTENSION) :], "The checkpoint's time")
        return cls(origin, int(size_text), root, issued_at)


def sign_checkpoint(checkpoint: Checkpoint, private_key: Ed25519PrivateKey) -> str:
    """The signed note of `checkpoint`, signed under its origin as key name."""
    return sign_note(checkpoint.text(), checkpoint.origin, private_key)


def open_checkpoint(note: str | bytes, keys: Iterable[NoteKey]) -> tuple[Checkpoint, NoteKey]:
    """Verify a signed checkpoint; returns it and the key that signed it."""
    text, key = open_note(note, keys)
    checkpoint = Checkpoint.parse(text)
    if key.name != checkpoint.origin:
        raise CheckpointError(f"The checkpoint of {checkpoint.origin!r} is signed under another name, {key.name!r}.")
    return checkpoint, key
