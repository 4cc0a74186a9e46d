"""`ledger verify --since FILE`: verify only what came after a checkpoint you kept.

In this order, stopping at the first problem:
1. the kept checkpoint is a signed note by the key the log's key history gives its size
   (`ledger.keys.log`, from the pinned first key when one is given; `signing_keys` is
   never trusted);
2. the log is consistent with it: the stored tree's frontier at its size hashes to its
   root, and the entry at its size is included under that root (RFC 6962), so the
   chain's start is anchored in what was signed;
3. every entry after it: seq, link, hash, signature and key range (`ledger.audit.chain`);
4. the tree grown from that frontier by those entries matches every stored checkpoint
   after the kept one (signature included) and the stored tree;
5. the maintained balances and close entries after it (`ledger.audit.balances`).
Cost: the entries after the kept checkpoint, plus O(log n) tree nodes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from hashlib import sha256

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, select

from ledger.audit.balances import AuditReport, audit
from ledger.tlog.checkpoint import Checkpoint, CheckpointError, NoteKey, open_checkpoint
from ledger.books.encoding import encode_row
from ledger.keys.history import KeyHistory
from ledger.keys.log import derive_history
from ledger.tlog.merkle import Frontier, ProofError, inclusion_proof, leaf_hash, tree_head, verify_inclusion
from ledger.books.schema import CHECKPOINTS, GENESIS_HASH, TRANSFERS
from ledger.transparency.tree import (StoredCheckpoint, all_transfers, checkpoint_problem, node_fetcher, stored_checkpoint,
                                 stored_tree_size)
from ledger.audit.chain import PAGE, verify_ledger


@dataclass(frozen=True)
class SinceReport:
    ok: bool
    kept_size: int  # entries the kept checkpoint covers (not checked again)
    checked: int  # entries after it that were checked
    head_seq: int
    checkpoints: int = 0  # stored checkpoints after the kept one that matched
    audit: AuditReport | None = None
    problem: str | None = None

    def as_dict(self) -> dict:
        return {"ok": self.ok, "kept_size": self.kept_size, "checked": self.checked, "head_seq": self.head_seq,
                "checkpoints": self.checkpoints, "audit": self.audit and self.audit.as_dict(), "problem": self.problem}


def verify_since(engine: Engine, kept_note: str, page: int = PAGE,
                 progress: Callable[[int], object] | None = None,
                 first_key: Ed25519PublicKey | None = None) -> SinceReport:
    """Steps 1-5 of the module docstring; `first_key` pins the key history's first key."""
    with engine.connect() as connection:
        history, _ = derive_history(connection, first_key)
        kept, problem = _open_kept(kept_note, history)
        if problem is not None:
            return SinceReport(False, 0, 0, 0, problem=problem)
        frontier, after, problem = _anchor(connection, kept)
    if problem is not None:
        return SinceReport(False, kept.size, 0, kept.size, problem=problem)
    chain = verify_ledger(engine, page, first_key=first_key, after=after, progress=progress)
    if not chain.ok:
        return SinceReport(False, kept.size, chain.head_seq - kept.size, chain.head_seq,
                           problem=f"entry seq {chain.bad_seq}: {chain.problem}")
    with engine.connect() as connection:
        matched, problem = _grow(connection, frontier, history)
    if problem is not None:
        return SinceReport(False, kept.size, chain.head_seq - kept.size, chain.head_seq, matched, problem=problem)
    audited = audit(engine, kept.size)
    return SinceReport(audited.ok, kept.size, chain.head_seq - kept.size, chain.head_seq, matched, audited,
                       audited.problem)


def _open_kept(note: str, history: KeyHistory | None) -> tuple[Checkpoint | None, str | None]:
    origin = note.split("\n", 1)[0] if isinstance(note, str) else ""
    for key in [] if history is None else history.ranges:
        try:
            checkpoint, _ = open_checkpoint(note, [NoteKey(origin, key.public_key)])
        except (CheckpointError, ValueError):
            continue
        problem = checkpoint_problem(StoredCheckpoint(checkpoint, key.key_id, note), checkpoint.root_hash, history)
        return (checkpoint, None) if problem is None else (None, f"the kept checkpoint: {problem}")
    return None, "the kept checkpoint is not a checkpoint signed by a key of this ledger"


def _anchor(connection: Connection, kept: Checkpoint) -> tuple[Frontier, tuple[int, str], str | None]:
    """Step 2: the frontier at the kept size and the (seq, hash) the chain continues from."""
    size, fetch = kept.size, node_fetcher(connection)
    if size > stored_tree_size(connection):
        return Frontier(), (0, GENESIS_HASH), (f"the kept checkpoint covers {size} entries but the ledger's tree "
                                                f"has fewer: entries were removed")
    try:
        frontier = Frontier.load(size, fetch)
    except ProofError as exc:
        return Frontier(), (0, GENESIS_HASH), f"the stored tree cannot be read at the kept size: {exc}"
    if frontier.root() != kept.root_hash:
        return frontier, (0, GENESIS_HASH), (f"the log's first {size} entries no longer have the kept checkpoint's "
                                             "root hash: history was rewritten")
    if size == 0:
        return frontier, (0, GENESIS_HASH), None
    row = connection.execute(select(TRANSFERS).where(TRANSFERS.c.seq == size)).mappings().first()
    encoding = None if row is None else encode_row(row)
    if row is None or sha256(encoding).hexdigest() != row["hash"]:
        return frontier, (0, GENESIS_HASH), f"entry seq {size}, the kept checkpoint's last, is missing or altered"
    try:
        verify_inclusion(leaf_hash(encoding), size - 1, size, inclusion_proof(size - 1, size, fetch), kept.root_hash)
    except ProofError:
        return frontier, (0, GENESIS_HASH), f"entry seq {size} is not the kept checkpoint's last entry"
    return frontier, (size, row["hash"]), None


def _grow(connection: Connection, frontier: Frontier, history: KeyHistory | None) -> tuple[int, str | None]:
    """Step 4: extend the frontier with the entries after it, checking each later checkpoint."""
    pending = [stored_checkpoint(row) for row in connection.execute(
        select(CHECKPOINTS).where(CHECKPOINTS.c.tree_size > frontier.size).order_by(CHECKPOINTS.c.tree_size))]
    tree_size = stored_tree_size(connection)
    matched = 0
    for row in all_transfers(connection, after=frontier.size):
        frontier.append([leaf_hash(encode_row(row))])
        while pending and pending[0].size == frontier.size:
            problem = checkpoint_problem(pending.pop(0), frontier.root(), history)
            if problem:
                return matched, problem
            matched += 1
        if frontier.size == tree_size and frontier.root() != tree_head(tree_size, node_fetcher(connection)):
            return matched, f"the stored Merkle tree of {tree_size} entries does not match the transfers"
    if pending:
        return matched, f"checkpoint {pending[0].size} was signed, but the ledger has only {frontier.size} entries"
    return matched, None
