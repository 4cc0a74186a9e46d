"""Signed export manifests: `manifest.json` lists every file of an export with its SHA-256.

Format (schema `fairsplit.manifest.v1`):

    {"schema": "fairsplit.manifest.v1", "created_at": "...Z", "subject": {...},
     "files": [{"name": "statements-2026-11-USD.csv", "bytes": 1234, "sha256": "<hex>"}, ...],
     "key_id": "<16 hex>", "signature": "<Ed25519, hex>"}

The signature is Ed25519 over the canonical bytes of the manifest without its
`signature` field: JSON with sorted keys, separators `,` and `:`, ASCII only. `key_id`
names the ledger key that signed it (registered in `signing_keys`), so anyone with the
ledger's public keys can check both the manifest and every file it lists.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

MANIFEST_NAME = "manifest.json"
MANIFEST_SCHEMA = "fairsplit.manifest.v1"


class SignsBytes(Protocol):
    key_id: str

    def sign(self, message: bytes) -> bytes: ...


def canonical_bytes(document: Mapping[str, Any]) -> bytes:
    body = {key: value for key, value in document.items() if key != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def file_entry(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    return {"name": path.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def write_manifest(directory: Path, files: Iterable[Path], signer: SignsBytes,
                   subject: Mapping[str, Any]) -> Path:
    """Hash `files` (all inside `directory`), sign, and write `directory/manifest.json`."""
    document: dict[str, Any] = {
        "schema": MANIFEST_SCHEMA,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "subject": dict(subject),
        "files": [file_entry(Path(path)) for path in sorted(files, key=lambda p: Path(p).name)],
        "key_id": signer.key_id,
    }
    document["signature"] = signer.sign(canonical_bytes(document)).hex()
    path = Path(directory) / MANIFEST_NAME
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return path


def read_manifest(directory: Path) -> dict[str, Any]:
    path = Path(directory) / MANIFEST_NAME
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"There is no {MANIFEST_NAME} in {directory}.") from None
    except json.JSONDecodeError:
        raise ValueError(f"{path} is not valid JSON.") from None
    if not isinstance(document, dict) or document.get("schema") != MANIFEST_SCHEMA:
        raise ValueError(f"{path} is not a {MANIFEST_SCHEMA} manifest.")
    return document


def verify_manifest(directory: Path, public_key: Ed25519PublicKey) -> list[str]:
    """Problems found (empty when the signature and every listed file check out)."""
    directory = Path(directory)
    document = read_manifest(directory)
    problems = []
    try:
        public_key.verify(bytes.fromhex(document.get("signature", "")), canonical_bytes(document))
    except (InvalidSignature, ValueError):
        problems.append(f"The manifest signature does not verify with key {document.get('key_id')}.")
    for entry in document.get("files", []):
        path = directory / entry["name"]
        if not path.is_file():
            problems.append(f"{entry['name']} is listed but missing.")
        elif file_entry(path)["sha256"] != entry["sha256"]:
            problems.append(f"{entry['name']} has changed: its SHA-256 no longer matches the manifest.")
    return problems
