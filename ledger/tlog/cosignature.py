"""Witness cosignatures (C2SP tlog-cosignature, `cosignature/v1`, Ed25519) and witness keys.

A cosignature is one more signature line on a checkpoint's signed note:

    — <witness name> base64(key id ‖ timestamp ‖ signature)

- key id: SHA-256(witness name ‖ 0x0A ‖ 0x04 ‖ 32-byte Ed25519 public key)[:4]; signature
  type 0x04 keeps it apart from the log's own (type 0x01) key id, even under one name;
- timestamp: 8 bytes, big-endian, seconds since the Unix epoch at which the witness
  signed (1 … 2^63-1; a witness never omits it);
- signature: Ed25519 over the message
      "cosignature/v1\\n" "time <timestamp, decimal>\\n" + the checkpoint's note text
  (every line of it, extensions included, final newline included, no signature lines).

It states: as of that time, the largest tree of this origin the witness has verified
consistent with everything it saw before has this root hash. A witness's public key
travels as a verifier key ("vkey") line: `<name>+<key id, 8 hex digits>+base64(0x04 ‖
public key)`.

Verification (`verified_cosignatures`, `require_quorum`) ignores lines of keys it was
not given and rejects the note when a line of a given key does not verify. Pure: no
clock, no database, no network; every failure is a `CheckpointError` with one sentence.
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.tlog.checkpoint import SIGNATURE_PREFIX, CheckpointError, b64decode_strict, check_key_name, parse_note

COSIGNATURE_TYPE = 0x04
COSIGNATURE_HEADER = "cosignature/v1\n"
MAX_TIMESTAMP = 2**63 - 1
_BLOB_SIZE = 4 + 8 + 64
_RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)
_KEY_ID = re.compile(r"[0-9a-f]{8}")
MAX_KEY_FILE_BYTES = 64 << 10


@dataclass(frozen=True)
class CosignerKey:
    """A witness: its name and Ed25519 public key (cosignature/v1)."""

    name: str
    public_key: Ed25519PublicKey

    def __post_init__(self) -> None:
        check_key_name(self.name)

    @property
    def raw(self) -> bytes:
        return self.public_key.public_bytes(*_RAW)

    @property
    def key_id(self) -> bytes:
        return hashlib.sha256(self.name.encode() + b"\n" + bytes([COSIGNATURE_TYPE]) + self.raw).digest()[:4]

    def vkey(self) -> str:
        """The verifier-key line that names this witness."""
        material = base64.b64encode(bytes([COSIGNATURE_TYPE]) + self.raw).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"


@dataclass(frozen=True)
class Cosignature:
    """One verified cosignature: who, and when (Unix seconds) they cosigned."""

    key: CosignerKey
    timestamp: int
    line: str  # the signature line, without its newline


def parse_vkey(text: str) -> CosignerKey:
    """A witness's key from its vkey line; CheckpointError unless it is a well-formed 0x04 key."""
    if not isinstance(text, str) or text.count("+") < 2:
        raise CheckpointError("A witness key must read <name>+<key id>+<base64 key>.")
    name, key_id, material = text.strip().split("+", 2)
    check_key_name(name)
    if not _KEY_ID.fullmatch(key_id):
        raise CheckpointError(f"The key id of witness key {name} must be 8 lower-case hex digits.")
    blob = b64decode_strict(material, f"The key of witness {name}")
    if len(blob) != 33 or blob[0] != COSIGNATURE_TYPE:
        raise CheckpointError(
            f"Witness key {name} is not a cosignature/v1 Ed25519 key (type 0x04 followed by 32 bytes)."
        )
    key = CosignerKey(name, Ed25519PublicKey.from_public_bytes(blob[1:]))
    if key.key_id.hex() != key_id:
        raise CheckpointError(f"Witness key {name} says key id {key_id}, but its key has id {key.key_id.hex()}.")
    return key


def parse_key_file(data: str | bytes) -> list[CosignerKey]:
    """Witness keys from a file: one vkey per line; blank lines and `#` comments ignored."""
    if isinstance(data, bytes):
        if len(data) > MAX_KEY_FILE_BYTES:
            raise CheckpointError("The witness key file is too large.")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise CheckpointError("The witness key file is not UTF-8 text.") from None
    keys = [parse_vkey(line) for line in data.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not keys:
        raise CheckpointError("The witness key file holds no witness key.")
    return keys


def cosigned_message(text: str, timestamp: int) -> bytes:
    """The bytes a cosignature/v1 signs."""
    _check_timestamp(timestamp)
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{text}".encode()


def _check_timestamp(timestamp: int) -> None:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or not 0 < timestamp <= MAX_TIMESTAMP:
        raise CheckpointError("A cosignature's time must be a whole number of seconds in 1…2^63-1.")


def cosign(text: str, name: str, private_key: Ed25519PrivateKey, timestamp: int) -> str:
    """The cosignature line (ending in a newline) of a checkpoint's note text."""
    key = CosignerKey(name, private_key.public_key())
    signature = private_key.sign(cosigned_message(text, timestamp))
    blob = key.key_id + struct.pack(">Q", timestamp) + signature
    return f"{SIGNATURE_PREFIX}{name} {base64.b64encode(blob).decode()}\n"


def verified_cosignatures(note: str | bytes, keys: Iterable[CosignerKey]) -> list[Cosignature]:
    """The cosignatures on `note` by `keys`, each verified; one per witness key.

    Lines of other keys are ignored; a line of a given key that does not verify (or is
    malformed) rejects the note, as signed-note asks of known keys.
    """
    text, signatures = parse_note(note)
    known = {(key.name, key.key_id): key for key in keys}
    found: dict[tuple[str, bytes], Cosignature] = {}
    for name, blob in signatures:
        key = known.get((name, blob[:4]))
        if key is None:
            continue
        if len(blob) != _BLOB_SIZE:
            raise CheckpointError(f"The cosignature by witness {name} is not {_BLOB_SIZE} bytes.")
        (timestamp,) = struct.unpack(">Q", blob[4:12])
        if not 0 < timestamp <= MAX_TIMESTAMP:
            raise CheckpointError(f"The cosignature by witness {name} has no valid time.")
        try:
            key.public_key.verify(blob[12:], cosigned_message(text, timestamp))
        except InvalidSignature:
            raise CheckpointError(f"The cosignature by witness {name} does not verify: the checkpoint was altered.") from None
        line = f"{SIGNATURE_PREFIX}{name} {base64.b64encode(blob).decode()}"
        found.setdefault((name, key.key_id), Cosignature(key, timestamp, line))
    return list(found.values())


def require_quorum(note: str | bytes, keys: Sequence[CosignerKey], quorum: int) -> list[Cosignature]:
    """The verified cosignatures, if at least `quorum` distinct witnesses of `keys` cosigned."""
    if isinstance(quorum, bool) or not isinstance(quorum, int) or not 1 <= quorum <= len(keys):
        raise CheckpointError(f"The witness quorum must be between 1 and the {len(keys)} witness keys given.")
    cosignatures = verified_cosignatures(note, keys)
    if len(cosignatures) < quorum:
        names = ", ".join(c.key.name for c in cosignatures) or "none"
        raise CheckpointError(
            f"The checkpoint carries {len(cosignatures)} of the {quorum} required witness cosignatures "
            f"(cosigned by: {names}); no witness vouched that this history was not rewritten."
        )
    return cosignatures


def with_cosignatures(note: str, lines: Iterable[str]) -> str:
    """`note` with cosignature lines appended (each once, in the order given)."""
    present = set(note.rstrip("\n").split("\n"))
    extra = [line.rstrip("\n") for line in lines if line.rstrip("\n") not in present]
    return note + "".join(line + "\n" for line in dict.fromkeys(extra))
