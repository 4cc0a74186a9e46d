"""Verify the whole chain: every seq, link, hash and signature, streaming.

Rows are read in seq order, a page at a time (keyset pagination, so millions of rows
never sit in memory). For each row, in this order:
1. `seq` is the previous seq + 1 (the first row is 1)           -> "gap in seq"
2. `prev_hash` equals the previous row's `hash` (64 zeros first) -> "broken link"
3. the recomputed hash of its canonical encoding equals `hash`   -> "hash mismatch"
4. `key_id` is the key the log's own key history (`ledger.keys.log`, from the pinned
   first key through every key entry) gives that seq             -> "key not valid"
5. `signature` is a valid Ed25519 signature of the hash bytes   -> "bad signature"
6. a reward is paid exactly as the signed evidence it commits to says, with platform and
   worker keys the log's key entries trust at that seq (`ledger.evidence.audit`)
                                                                 -> "reward without evidence", "evidence …"
A key entry that breaks either key history is reported at its seq. `signing_keys` and the
registry's key tables are not trusted: a key that is only there signs nothing that verifies.
The report names the FIRST bad seq and what is wrong with it. Signatures of a page are
checked on worker threads (Ed25519 verification releases the GIL).

What this cannot see: rows removed from the END of the chain, or a whole chain rebuilt
and re-signed; `ledger.transparency.tree.verify_checkpoints` (also run by `fairsplit ledger
verify`) checks the rows against the signed checkpoints for that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from hashlib import sha256

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine, select

from ledger.books.encoding import ENCODING_VERSION, encode_row
from ledger.keys.signing import signature_valid
from ledger.keys.log import LogKeys, log_keys
from ledger.books.schema import GENESIS_HASH, TRANSFERS
from ledger.evidence.audit_since import resumed_evidence_check

PAGE = 5000
_CHUNK = 500


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    checked: int  # rows found good before the first problem (all rows when ok)
    head_seq: int  # seq of the last good row
    head_hash: str
    bad_seq: int | None = None
    problem: str | None = None
    legacy_rewards: int = 0  # rewards from before evidence-bound rewards (`ledger.evidence.audit`)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Chain:
    expected_seq: int = 1
    prev_hash: str = GENESIS_HASH
    keys: LogKeys | None = None


def verify_ledger(engine: Engine, page: int = PAGE, first_key: Ed25519PublicKey | None = None,
                  after: tuple[int, str] = (0, GENESIS_HASH),
                  progress: Callable[[int], object] | None = None) -> VerifyReport:
    """Check every row of `transfers` after seq `after[0]` (whose hash is `after[1]`: the
    start of the chain, or a row a kept checkpoint proved); see the module docstring.

    `first_key`: the ledger's first key as the verifier knows it (a public keys file); the
    key history is the whole log's, whatever `after` is. `progress(rows checked so far)` is
    called before each page.
    """
    chain = _Chain(after[0] + 1, after[1], keys=log_keys(engine, first_key))
    keys = chain.keys.public
    evidence = resumed_evidence_check(engine, after[0])
    for rows in _pages(engine, page, after[0]):
        if progress is not None:
            progress(rows[0]["seq"] - 1 - after[0])
        start_seq, start_hash = chain.expected_seq - 1, chain.prev_hash
        good, failure = _check_page(rows, chain, keys)
        bad_signature = _first_bad_signature(rows[:good], keys)
        if bad_signature is not None:
            good = bad_signature
            failure = (rows[good]["seq"], "bad signature: not a valid signature of the row's hash by its key")
        unpaid = evidence.page(rows[:good])  # rewards must be paid as their evidence says
        if unpaid is not None:
            return VerifyReport(False, unpaid.good_seq, unpaid.good_seq, unpaid.good_hash, unpaid.seq, unpaid.problem)
        if failure is not None:
            head_seq, head_hash = (rows[good - 1]["seq"], rows[good - 1]["hash"]) if good else (start_seq, start_hash)
            return VerifyReport(False, head_seq, head_seq, head_hash, *failure)
    unpaid = evidence.finish()
    if unpaid is not None:
        return VerifyReport(False, unpaid.good_seq, unpaid.good_seq, unpaid.good_hash, unpaid.seq, unpaid.problem)
    return VerifyReport(True, chain.expected_seq - 1, chain.expected_seq - 1, chain.prev_hash,
                        legacy_rewards=evidence.legacy)


def _pages(engine: Engine, page: int, after: int = 0) -> Iterator[list[dict]]:
    with engine.connect() as connection:
        while True:
            query = select(TRANSFERS).where(TRANSFERS.c.seq > after).order_by(TRANSFERS.c.seq).limit(page)
            rows = [dict(row._mapping) for row in connection.execute(query)]
            if not rows:
                return
            yield rows
            after = rows[-1]["seq"]


def _check_page(rows: list[dict], chain: _Chain, keys: dict) -> tuple[int, tuple[int, str] | None]:
    """Checks 1-4 in order; returns (rows that passed, (seq, problem) of the first that did not)."""
    for index, row in enumerate(rows):
        problem = _row_problem(row, chain, keys)
        if problem is not None:
            return index, (row["seq"], problem)
        chain.expected_seq += 1
        chain.prev_hash = row["hash"]
    return len(rows), None


def _row_problem(row: dict, chain: _Chain, keys: dict) -> str | None:
    seq = row["seq"]
    if seq != chain.expected_seq:
        return f"gap in seq: expected {chain.expected_seq}, found {seq}"
    if row["prev_hash"] != chain.prev_hash:
        return f"broken link: prev_hash is not the hash of seq {seq - 1}"
    if row["version"] != ENCODING_VERSION:
        return f"unknown encoding version {row['version']}"
    if sha256(encode_row(row)).hexdigest() != row["hash"]:
        return "hash mismatch: the row's contents do not match its stored hash"
    return chain.keys.problem(row["key_id"], seq)


def _first_bad_signature(rows: list[dict], keys: dict) -> int | None:
    """Index of the first row whose signature does not verify, or None."""
    starts = range(0, len(rows), _CHUNK)
    results = _verify_pool().map(lambda start: _first_bad_in(rows, start, keys), starts)
    return next((bad for bad in results if bad is not None), None)


def _first_bad_in(rows: list[dict], start: int, keys: dict) -> int | None:
    for index in range(start, min(start + _CHUNK, len(rows))):
        row = rows[index]
        try:
            signature, digest = bytes.fromhex(row["signature"]), bytes.fromhex(row["hash"])
        except ValueError:
            return index
        if not signature_valid(keys[row["key_id"]], signature, digest):
            return index
    return None


@lru_cache(maxsize=1)
def _verify_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="ledger-verify")
