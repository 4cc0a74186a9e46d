"""A line-by-line Python transcription of Go's golang.org/x/mod/sumdb/note verifier
(`NewVerifier`, `keyHash`, `isValidName`, `Open`), for checking fairsplit's verifier keys
and checkpoints against the reference format where no Go toolchain is installed.

Deliberately independent of `ledger.tlog.checkpoint`: it reads only the vkey text and the note.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import unicodedata

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ALG_ED25519 = 1


class NoteError(Exception):
    pass


def _chop(text: str, sep: str) -> tuple[str, str]:  # Go: strings.Cut, keeping the rest
    head, found, tail = text.partition(sep)
    return (head, tail) if found else (text, "")


def _is_valid_name(name: str) -> bool:
    return bool(name) and not any(c.isspace() or unicodedata.category(c) == "Zs" for c in name) and "+" not in name


def key_hash(name: str, key: bytes) -> int:
    return struct.unpack(">I", hashlib.sha256(name.encode() + b"\n" + key).digest()[:4])[0]


class Verifier:
    def __init__(self, vkey: str) -> None:  # note.NewVerifier
        name, rest = _chop(vkey, "+")
        hash16, key64 = _chop(rest, "+")
        try:
            hash_value = int(hash16, 16)
            key = base64.b64decode(key64, validate=True)
        except ValueError:
            raise NoteError("malformed verifier id") from None
        if len(hash16) != 8 or not _is_valid_name(name) or not key:
            raise NoteError("malformed verifier id")
        if hash_value != key_hash(name, key):
            raise NoteError("invalid verifier hash")
        if key[0] != ALG_ED25519 or len(key) != 33:
            raise NoteError("unknown verifier algorithm")
        self.name, self.hash, self._key = name, hash_value, Ed25519PublicKey.from_public_bytes(key[1:])

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


def open_note(message: bytes, verifiers: list[Verifier]) -> str:  # note.Open; returns the verified text
    if len(message) > 1_000_000 or b"\n\n" not in message:
        raise NoteError("malformed note")
    split = message.rfind(b"\n\n")
    text, sigs = message[: split + 1], message[split + 2 :]
    if not sigs.endswith(b"\n"):
        raise NoteError("malformed note")
    verified = 0
    for line in sigs[:-1].split(b"\n"):
        if not line.startswith("\u2014 ".encode()):
            raise NoteError("malformed note")
        name, _, b64 = line[len("\u2014 ".encode()):].decode().partition(" ")
        try:
            sig = base64.b64decode(b64, validate=True)
        except ValueError:
            raise NoteError("malformed note") from None
        if not _is_valid_name(name) or not b64 or len(sig) < 5:
            raise NoteError("malformed note")
        hash_value = struct.unpack(">I", sig[:4])[0]
        known = [v for v in verifiers if v.name == name and v.hash == hash_value]
        if not known:
            continue  # an unknown signer: Go records it as unverified
        if not known[0].verify(text, sig[4:]):
            raise NoteError("invalid signature for key " + name)
        verified += 1
    if not verified:
        raise NoteError("note has no verifiable signatures")
    return text.decode()
