"""Offline check of a balance bundle's rewards against their evidence (no database).

The bundle's `key_entries` are each proven in the log under the bundle's checkpoint and
rebuild the key ranges (`ledger.keys.trusted`); each reward entry must then be bound to
one of the bundle's `evidence` documents, signed by keys valid at its seq, and pay its
payee exactly that payee's part of the split (`ledger.evidence.rewards`). A reward without
evidence is accepted only at or before the evidence start the bundle proves (a legacy
reward of an upgraded ledger). Every evidence document must serve an entry: nothing
unchecked rides along.

What an offline check cannot see: a revocation entry the bundle leaves out. `ledger
verify`, which reads the whole log, does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ledger.evidence.rewards import Evidence, EvidenceError, check_rows, check_signatures, memo_digest, open_document
from ledger.keys.trusted import TrustedKeys

MAX_KEY_ENTRIES = 100_000


def check_bundle_evidence(document: Mapping[str, Any], rows: Sequence[Mapping[str, Any]],
                          prove: Callable[[Any, str], dict[str, Any]]) -> str:
    """A line saying what was checked; EvidenceError or KeyEntryError (one sentence) otherwise.

    `prove(part, where)` checks an inclusion part under the bundle's checkpoint and returns its row."""
    keys = _key_history(document.get("key_entries", []), prove)
    evidence = _documents(document.get("evidence", []))
    used: set[str] = set()
    bound = legacy = 0
    for row in rows:
        if row["kind"] != "reward":
            continue
        digest = memo_digest(row["memo"])
        if digest is None:
            if keys.evidence_start is None or row["seq"] > keys.legacy_through:
                raise EvidenceError(f"entry seq {row['seq']} is a reward without evidence")
            legacy += 1
            continue
        if digest not in evidence:
            raise EvidenceError(f"entry seq {row['seq']} names evidence {digest[:16]}, which the bundle does not carry")
        check_signatures(evidence[digest], keys, row["seq"])
        check_rows(evidence[digest], [row], complete=False)
        used.add(digest)
        bound += 1
    if set(evidence) - used:
        raise EvidenceError("the bundle carries evidence no entry of it is paid by")
    line = f"{bound} rewards are bound to a platform-signed event and a worker-signed result"
    return line + (f"; {legacy} legacy rewards predate evidence" if legacy else "")


def _key_history(parts: Any, prove: Callable[[Any, str], dict[str, Any]]) -> TrustedKeys:
    if not isinstance(parts, list) or len(parts) > MAX_KEY_ENTRIES:
        raise EvidenceError(f"the bundle's key_entries must be a list of at most {MAX_KEY_ENTRIES} proven entries")
    rows = sorted((prove(part, f"Key entry {number}") for number, part in enumerate(parts)), key=lambda row: row["seq"])
    keys = TrustedKeys()
    for row in rows:
        if row["kind"] != "key":
            raise EvidenceError(f"key entry seq {row['seq']} is not a key entry")
        keys.apply(row)  # in seq order; a repeated seq is refused there
    return keys


def _documents(items: Any) -> dict[str, Evidence]:
    if not isinstance(items, list):
        raise EvidenceError("the bundle's evidence must be a list")
    found: dict[str, Evidence] = {}
    for item in items:
        if not isinstance(item, dict) or set(item) != {"digest", "document"} or not isinstance(item["digest"], str):
            raise EvidenceError("each evidence item must be exactly {\"digest\", \"document\"}")
        if item["digest"] in found:
            raise EvidenceError(f"evidence {item['digest'][:16]} appears twice in the bundle")
        found[item["digest"]] = open_document(item["document"], item["digest"])
    return found
