"""The verifiable ledger in the database: the stored Merkle tree and the signed checkpoints.

Proof documents made from them are `ledger.transparency.proving`; the ledger keys' lifecycle
(rotation, the public keys file) is `ledger.keys.lifecycle`.

Invariants (each checked in one place, named in brackets):
1. Leaves: leaf i (0-based) is SHA-256(0x00 ‖ canonical encoding of the transfer with
   seq i + 1) — `ledger.books.encoding`, the same bytes the row's `hash` is over. The tree only
   takes rows whose encoding still matches their stored hash, in seq order without gaps
   [`_extend`].
2. Nodes: `merkle_nodes` holds every complete subtree (level, idx) of the tree over the
   first `tree size` transfers, written once, never changed (append-only by trigger).
   Extending the tree reads O(log n) frontier nodes and writes ~2 nodes per new leaf;
   a proof reads O(log n) nodes [`_extend`, `node_fetcher`].
3. Checkpoints: `checkpoints` holds signed tree heads, one per tree size, append-only.
   A new checkpoint is signed only after proving (RFC 9162 consistency) that the previous
   one is a prefix of it, by the key the log's key history makes current after its last
   entry (`ledger.keys.log`) [`create_checkpoint`].
Writers (the ledger writer, payout close) call `maybe_checkpoint` every N entries / T
seconds, or `create_checkpoint` directly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine
from sqlalchemy import func, insert, select, text

from ledger.tlog.checkpoint import Checkpoint, CheckpointError, NoteKey, open_checkpoint, sign_checkpoint
from ledger.books.db import WRITE_OPTION, is_sqlite
from ledger.books.encoding import encode_row, utc
from ledger.errors import LedgerError
from ledger.keys.history import KeyHistory
from ledger.keys.log import derive_history, signer_problem
from ledger.keys.signing import Signer
from ledger.tlog.merkle import (
    Frontier,
    Node,
    NodeFetcher,
    ProofError,
    consistency_proof,
    leaf_hash,
    tree_head,
    verify_consistency,
)
from ledger.books.schema import CHECKPOINTS, MERKLE_NODES as NODES, TRANSFERS, SigningKey

DEFAULT_ORIGIN = "fairsplit/ledger"
#: PostgreSQL advisory lock serialising tree extension and checkpoints ("fsmerkle").
TREE_LOCK_KEY = 0x66736D65_726B6C65
PAGE = 5000
_FETCH_CHUNK = 400


class TransparencyError(LedgerError):
    """A checkpoint or proof that cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class StoredCheckpoint:
    checkpoint: Checkpoint
    key_id: str
    note: str

    @property
    def size(self) -> int:
        return self.checkpoint.size


# --- the tree ----------------------------------------------------------------------------


@contextmanager
def _tree_lock(engine: Engine) -> Iterator[Connection]:
    if is_sqlite(engine):
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
            yield connection
        return
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": TREE_LOCK_KEY})
        yield connection


def node_fetcher(connection: Connection) -> NodeFetcher:
    """Fetch stored complete nodes, a few hundred per query.

    The condition is `(level = L AND idx IN (…)) OR …`, one branch per level, so both
    backends answer it with primary-key lookups (SQLite scans the whole table for a
    row-value `(level, idx) IN (…)`).
    """

    def fetch(wanted: Sequence[Node]) -> dict[Node, bytes]:
        found: dict[Node, bytes] = {}
        wanted = sorted(set(wanted))
        for start in range(0, len(wanted), _FETCH_CHUNK):
            by_level: dict[int, list[int]] = {}
            for level, idx in wanted[start : start + _FETCH_CHUNK]:
                by_level.setdefault(level, []).append(idx)
            # Integers only (coerced), written inline: building SQLAlchemy expressions per
            # node cost more than the lookups themselves.
            condition = " OR ".join(
                f"(level = {int(level)} AND idx IN ({', '.join(str(int(i)) for i in idxs)}))"
                for level, idxs in by_level.items()
            )
            rows = connection.execute(text(f"SELECT level, idx, hash FROM merkle_nodes WHERE {condition}"))
            found.update(((level, idx), bytes(digest)) for level, idx, digest in rows)
        return found

    return fetch


def stored_tree_size(connection: Connection) -> int:
    last = connection.execute(select(func.max(NODES.c.idx)).where(NODES.c.level == 0)).scalar()
    return 0 if last is None else int(last) + 1


def _extend(connection: Connection) -> int:
    """Add every transfer not yet in the tree (invariants 1 and 2); returns the tree size."""
    frontier = Frontier.load(stored_tree_size(connection), node_fetcher(connection))
    leaves: list[bytes] = []
    for row in all_transfers(connection, after=frontier.size):
        if row["seq"] != frontier.size + len(leaves) + 1:
            raise TransparencyError(f"The ledger has a gap before seq {row['seq']}; run `fairsplit ledger verify`.")
        encoding = encode_row(row)
        if sha256(encoding).hexdigest() != row["hash"]:
            raise TransparencyError(
                f"Transfer seq {row['seq']} no longer matches its hash, so it is not added to the Merkle tree; "
                "run `fairsplit ledger verify`."
            )
        leaves.append(leaf_hash(encoding))
        if len(leaves) == PAGE:
            _insert_nodes(connection, frontier.append(leaves))
            leaves = []
    if leaves:
        _insert_nodes(connection, frontier.append(leaves))
    return frontier.size


def _insert_nodes(connection: Connection, nodes: list[tuple[int, int, bytes]]) -> None:
    if connection.dialect.name != "postgresql":
        connection.execute(insert(NODES), [{"level": lv, "idx": ix, "hash": h} for lv, ix, h in nodes])
        return
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy("COPY merkle_nodes (level, idx, hash) FROM STDIN") as copy:
        for node in nodes:
            copy.write_row(node)


def extend_tree(engine: Engine) -> int:
    """Bring the stored tree up to the ledger's head; returns the tree size."""
    with _tree_lock(engine) as connection:
        return _extend(connection)


# --- checkpoints --------------------------------------------------------------------------


def stored_checkpoint(row: Any) -> StoredCheckpoint:
    checkpoint = Checkpoint(row.origin, int(row.tree_size), bytes.fromhex(row.root_hash), utc(row.issued_at))
    return StoredCheckpoint(checkpoint, row.key_id, row.note)


def newest_checkpoint_in(connection: Connection) -> StoredCheckpoint | None:
    """The newest stored checkpoint, read in `connection`'s transaction (None when none is)."""
    row = connection.execute(select(CHECKPOINTS).order_by(CHECKPOINTS.c.tree_size.desc()).limit(1)).first()
    return None if row is None else stored_checkpoint(row)


def latest_checkpoint(engine: Engine) -> StoredCheckpoint | None:
    with engine.connect() as connection:
        return newest_checkpoint_in(connection)


def get_checkpoint(engine: Engine, size: int) -> StoredCheckpoint:
    with engine.connect() as connection:
        row = connection.execute(select(CHECKPOINTS).where(CHECKPOINTS.c.tree_size == size)).first()
    if row is None:
        raise TransparencyError(f"No checkpoint of tree size {size} is stored; `fairsplit ledger checkpoint` makes one.")
    return stored_checkpoint(row)


def create_checkpoint(
    engine: Engine, signer: Signer, origin: str | None = None, now: datetime | None = None
) -> StoredCheckpoint:
    """Extend the tree to the head and sign a checkpoint of it (invariant 3).

    Returns the stored checkpoint of that size if there already is one.
    """
    with _tree_lock(engine) as connection:
        size = _extend(connection)
        latest = newest_checkpoint_in(connection)
        if latest is not None and latest.size == size:
            return latest
        origin = origin or (latest.checkpoint.origin if latest else DEFAULT_ORIGIN)
        if latest is not None and origin != latest.checkpoint.origin:
            raise TransparencyError(f"This ledger's checkpoints are for origin {latest.checkpoint.origin!r}, not {origin!r}.")
        _check_active(connection, signer, size)
        fetch = node_fetcher(connection)
        root = tree_head(size, fetch)
        if latest is not None:
            try:
                old = latest.checkpoint
                verify_consistency(old.size, size, old.root_hash, root, consistency_proof(old.size, size, fetch))
            except ProofError as exc:
                raise TransparencyError(f"Refusing to sign: the tree is not consistent with checkpoint {old.size}: {exc}") from exc
        checkpoint = Checkpoint(origin, size, root, (now or datetime.now(UTC)).astimezone(UTC))
        note = sign_checkpoint(checkpoint, signer.private_key)
        connection.execute(insert(CHECKPOINTS).values(
            tree_size=size, origin=origin, root_hash=root.hex(), key_id=signer.key_id,
            issued_at=checkpoint.issued_at, note=note,
        ))
    return StoredCheckpoint(checkpoint, signer.key_id, note)


def _check_active(connection: Connection, signer: Signer, size: int) -> None:
    row = connection.execute(select(SigningKey).where(SigningKey.key_id == signer.key_id)).first()
    if row is None or row.public_key != signer.public_hex:
        raise TransparencyError(f"Signing key {signer.key_id} is not registered in this ledger.")
    problem = signer_problem(connection, signer, size)  # the log's key history, never the cache
    if problem is not None:
        raise TransparencyError(f"Refusing to sign: {problem}; sign with the current key.")


def maybe_checkpoint(
    engine: Engine, signer: Signer, every_entries: int = 1000, every_seconds: float = 60.0,
    origin: str | None = None, now: datetime | None = None,
) -> StoredCheckpoint | None:
    """Sign a checkpoint if `every_entries` entries or `every_seconds` passed since the last one.

    For the ledger writer to call after each append, and payout close unconditionally
    (`create_checkpoint`). Returns the new checkpoint, or None when none was due.
    """
    now = now or datetime.now(UTC)
    with engine.connect() as connection:
        head = connection.execute(select(func.max(TRANSFERS.c.seq))).scalar() or 0
        latest = newest_checkpoint_in(connection)
    if latest is not None:
        if head <= latest.size:
            return None
        waited = (now - latest.checkpoint.issued_at).total_seconds()
        if head - latest.size < every_entries and waited < every_seconds:
            return None
    return create_checkpoint(engine, signer, origin, now)


def checkpoint_covering(engine: Engine, signer: Signer | None, size: int) -> StoredCheckpoint:
    """The newest checkpoint of at least `size` entries, signing one if needed and possible."""
    latest = latest_checkpoint(engine)
    if latest is not None and latest.size >= size:
        return latest
    if signer is None:
        raise TransparencyError(f"No checkpoint covers {size} entries yet; run `fairsplit ledger checkpoint`.")
    return create_checkpoint(engine, signer)


@dataclass(frozen=True)
class CheckpointReport:
    ok: bool
    checkpoints: int  # stored checkpoints checked
    tree_size: int  # entries in the stored tree
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checkpoints": self.checkpoints, "tree_size": self.tree_size, "problem": self.problem}


def verify_checkpoints(engine: Engine, first_key: Ed25519PublicKey | None = None) -> CheckpointReport:
    """Recompute the tree from the transfers and check it against every stored checkpoint.

    Catches what the hash chain alone cannot: entries removed from the end (a checkpoint
    is larger than the ledger), a rewritten history (a root differs at a checkpoint's
    size), a checkpoint whose note does not verify with the key the log's key history
    gives its size (`ledger.keys.history`), and a stored tree that differs from the entries
    (what artists' proofs would be made from). `first_key` pins the history's first key.
    """
    with engine.connect() as connection:
        pending = [stored_checkpoint(row) for row in connection.execute(select(CHECKPOINTS).order_by(CHECKPOINTS.c.tree_size))]
        count, (keys, _) = len(pending), derive_history(connection, first_key)
        tree_size = stored_tree_size(connection)
        stored_root = tree_head(tree_size, node_fetcher(connection))
        frontier = Frontier()

        def problem_here() -> str | None:
            root = frontier.root()
            while pending and pending[0].size == frontier.size:
                problem = checkpoint_problem(pending.pop(0), root, keys)
                if problem:
                    return problem
            if frontier.size == tree_size and root != stored_root:
                return f"the stored Merkle tree of {tree_size} entries does not match the transfers"
            return None

        problem = problem_here()
        for row in all_transfers(connection):
            if problem:
                break
            frontier.append([leaf_hash(encode_row(row))])
            problem = problem_here()
    if problem is None and pending:
        problem = f"checkpoint {pending[0].size} was signed, but the ledger has only {frontier.size} entries: entries were removed"
    return CheckpointReport(problem is None, count - len(pending), tree_size, problem)


def all_transfers(connection: Connection, after: int = 0) -> Iterator[Any]:
    """Transfers with seq > `after`, in seq order, a page at a time."""
    while True:
        query = select(TRANSFERS).where(TRANSFERS.c.seq > after).order_by(TRANSFERS.c.seq).limit(PAGE)
        rows = connection.execute(query).mappings().all()
        if not rows:
            return
        yield from rows
        after = rows[-1]["seq"]


def checkpoint_problem(stored: StoredCheckpoint, root: bytes, history: KeyHistory | None) -> str | None:
    checkpoint = stored.checkpoint
    if root != checkpoint.root_hash:
        return f"the first {checkpoint.size} entries no longer have the root hash of checkpoint {checkpoint.size}: history was rewritten"
    key = None if history is None else history.key(stored.key_id)
    if key is None:
        return f"checkpoint {checkpoint.size} names key {stored.key_id}, which is not in the log's key history"
    try:
        opened, _ = open_checkpoint(stored.note, [NoteKey(checkpoint.origin, key.public_key)])
    except CheckpointError as exc:
        return f"checkpoint {checkpoint.size}: {exc}"
    if opened != checkpoint:
        return f"checkpoint {checkpoint.size}'s note says something else than its row"
    if history.origin is not None and checkpoint.origin != history.origin:
        return f"checkpoint {checkpoint.size} is of log {checkpoint.origin!r}, but the key entries name {history.origin!r}"
    problem = history.checkpoint_problem(stored.key_id, checkpoint.size)
    return None if problem is None else f"checkpoint {checkpoint.size}: {problem}"
