"""Signed export manifests: `manifest.json` lists every file of an export with its SHA-256.

Format (schema `fairsplit.manifest.v1`):

    {"schema": "fairsplit.manifest.v1", "created_at": "...Z", "subject": {..., "through_seq": N},
     "files": [{"name": "statements-2026-11-USD.csv", "bytes": 1234, "sha256": "<hex>"}, ...],
     "log_size": <entries in the log when it was signed>,
     "key_id": "<16 hex>", "signature": "<Ed25519, hex>"}

The signature is Ed25519 over the manifest's canonical JSON without its `signature`
field (`ledger.crypto.canonical_json`; a manifest's content is ASCII, so these are the
bytes manifests were always signed over). `key_id` names the ledger key that signed it,
so anyone with the ledger's public keys file can check, offline, the manifest and every
file it lists — and that the folder holds nothing else: a file the manifest does not
list is a problem too (it may be a stale or planted statement).

Key validity is by log position, never by time (`ledger.keys.history`): the signature is
accepted only from the key current at `log_size` (the key after entry `log_size`), and
`log_size` must be at least the period's close (`subject.through_seq`, and online the
close recorded in the ledger). A manifest without `log_size` (written before) is refused:
export the period again. `manifest.json` and the files it lists must be regular files (a
FIFO or device is refused, never read).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.crypto import canonical_json
from ledger.keys.history import KeyHistory
from ledger.strictjson import StrictJsonError, parse_object

MANIFEST_NAME = "manifest.json"
MANIFEST_SCHEMA = "fairsplit.manifest.v1"
MAX_MANIFEST_BYTES = 16 << 20
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")


class SignsBytes(Protocol):
    key_id: str

    def sign(self, message: bytes) -> bytes: ...


def file_entry(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    return {"name": path.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def write_manifest(directory: Path, files: Iterable[Path], signer: SignsBytes,
                   subject: Mapping[str, Any], log_size: int) -> Path:
    """Hash `files` (all inside `directory`), sign, and write `directory/manifest.json`.

    `log_size`: the log's size now; `signer` must be the key current after it.
    """
    document: dict[str, Any] = {
        "schema": MANIFEST_SCHEMA,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "subject": dict(subject),
        "files": [file_entry(Path(path)) for path in sorted(files, key=lambda p: Path(p).name)],
        "log_size": log_size,
        "key_id": signer.key_id,
    }
    document["signature"] = signer.sign(canonical_json(document)).hex()
    path = Path(directory) / MANIFEST_NAME
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return path


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest of an export folder, parsed strictly; `ValueError` with one sentence."""
    path = Path(directory) / MANIFEST_NAME
    try:
        data = read_regular_file(path, MAX_MANIFEST_BYTES + 1)
    except FileNotFoundError:
        raise ValueError(f"There is no {MANIFEST_NAME} in {directory}.") from None
    except OSError as exc:
        raise ValueError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    try:
        document = parse_object(data, str(path), MAX_MANIFEST_BYTES)
    except StrictJsonError as exc:
        raise ValueError(str(exc)) from None
    files = document.get("files")
    if document.get("schema") != MANIFEST_SCHEMA or not isinstance(files, list) or not all(
        isinstance(entry, dict) and isinstance(entry.get("name"), str) and _FILE_NAME.fullmatch(entry["name"])
        and isinstance(entry.get("sha256"), str) for entry in files
    ) or not isinstance(document.get("key_id"), str) or not isinstance(document.get("signature"), str):
        raise ValueError(f"{path} is not a {MANIFEST_SCHEMA} manifest.")
    size = document.get("log_size")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size < 2**63:
        raise ValueError(f"{path} does not say the log size it was signed at (made before key ranges); "
                         "export the period again.")
    return document


def read_regular_file(path: Path, limit: int) -> bytes:
    """At most `limit` bytes of `path`, refusing anything but a regular file (a FIFO would block)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "it is not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(limit)
    finally:
        os.close(fd)


def manifest_key(document: Mapping[str, Any], history: KeyHistory, close_through: int | None = None) -> Ed25519PublicKey:
    """The public key that may have signed `document`: the key current at its `log_size`
    (`history`: the log's, or a keys file's); ValueError with one sentence otherwise."""
    size, key_id = document["log_size"], document["key_id"]
    stated = (document.get("subject") or {}).get("through_seq") if isinstance(document.get("subject"), dict) else None
    for through in (close_through, stated):
        if isinstance(through, int) and not isinstance(through, bool) and size < through:
            raise ValueError(f"The manifest was signed at log size {size}, before its period's close at seq {through}.")
    problem = history.checkpoint_problem(key_id, size)
    if problem is not None:
        raise ValueError(f"The manifest is signed by a key outside its range: {problem}.")
    return history.key(key_id).public_key


def verify_manifest(directory: Path, public_key: Ed25519PublicKey) -> list[str]:
    """Problems found (empty when the signature, every listed file, and the absence of
    unlisted files all check out)."""
    directory = Path(directory)
    document = read_manifest(directory)
    problems = []
    try:
        public_key.verify(bytes.fromhex(document["signature"]), canonical_json(document))
    except (InvalidSignature, ValueError):
        problems.append(f"The manifest signature does not verify with key {document['key_id']}.")
    listed = {entry["name"] for entry in document["files"]}
    for entry in document["files"]:
        path = directory / entry["name"]
        if path.exists() and not path.is_file():
            problems.append(f"{entry['name']} is listed but is not a regular file.")
        elif not path.is_file():
            problems.append(f"{entry['name']} is listed but missing.")
        elif file_entry(path)["sha256"] != entry["sha256"]:
            problems.append(f"{entry['name']} has changed: its SHA-256 no longer matches the manifest.")
    for path in sorted(directory.iterdir()):
        if path.name != MANIFEST_NAME and path.name not in listed:
            problems.append(f"{path.name} is in the folder but not in the signed manifest.")
    return problems
