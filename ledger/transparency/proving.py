"""Proof documents from the database: inclusion proofs, consistency proofs and balance
bundles, each under a signed checkpoint (with the witnesses' cosignatures kept for it).

Their formats and their offline verification are `ledger.tlog.proofs`; the tree and the
checkpoints are `ledger.transparency.tree`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, func, or_, select

from ledger.transparency.cosigned_notes import cosigned_note
from ledger.evidence.bundle import evidence_part
from ledger.keys.signing import Signer
from ledger.tlog.merkle import MAX_TREE_SIZE, consistency_proof, inclusion_proof, nodes_for_inclusion, tree_head
from ledger.tlog.proofs import BUNDLE_FORMAT, CONSISTENCY_FORMAT, INCLUSION_FORMAT, consistency_part, display_balances, inclusion_part
from ledger.books.schema import TRANSFERS
from ledger.transparency.tree import StoredCheckpoint, TransparencyError, checkpoint_covering, newest_checkpoint_in, get_checkpoint, latest_checkpoint, node_fetcher


def _consistency_since(connection: Connection, since: int, checkpoint: StoredCheckpoint) -> dict[str, Any]:
    if not 0 <= since <= checkpoint.size:
        raise TransparencyError(f"--since {since} must be between 0 and the checkpoint's tree size {checkpoint.size}.")
    fetch = node_fetcher(connection)
    return consistency_part(since, tree_head(since, fetch), consistency_proof(since, checkpoint.size, fetch))


def _find_transfer(connection: Connection, entry: str | int) -> Any:
    """A transfer by seq (ASCII digits) or id; one sentence when there is none."""
    text = str(entry)
    by_seq = isinstance(entry, int) or (text.isascii() and text.isdigit())
    shown = text if len(text) <= 40 else text[:40] + "…"
    if by_seq and not 1 <= int(text) <= MAX_TREE_SIZE:
        raise TransparencyError(f"No transfer with seq {shown} is booked (seqs run from 1).")
    if not by_seq and len(text) > 36:
        raise TransparencyError(f"No transfer with id {shown!r} is booked.")
    column, value = (TRANSFERS.c.seq, int(text)) if by_seq else (TRANSFERS.c.id, text)
    row = connection.execute(select(TRANSFERS).where(column == value)).mappings().first()
    if row is None:
        raise TransparencyError(f"No transfer with {'seq' if by_seq else 'id'} {shown} is booked.")
    return row


def prove_inclusion(
    engine: Engine, entry: str | int, signer: Signer | None = None, since: int | None = None
) -> dict[str, Any]:
    """An inclusion-proof document for a transfer (by seq or id) under the newest checkpoint."""
    with engine.connect() as connection:
        row, checkpoint = _find_transfer(connection, entry), newest_checkpoint_in(connection)
        if checkpoint is None or checkpoint.size < row["seq"]:
            checkpoint = None
        else:
            return _inclusion_document(connection, row, checkpoint, since)
    checkpoint = checkpoint_covering(engine, signer, row["seq"])
    with engine.connect() as connection:
        return _inclusion_document(connection, row, checkpoint, since)


def _inclusion_document(connection: Connection, row: Any, checkpoint: StoredCheckpoint, since: int | None) -> dict[str, Any]:
    path = inclusion_proof(row["seq"] - 1, checkpoint.size, node_fetcher(connection))
    note = cosigned_note(connection, checkpoint.size, checkpoint.note)
    document = {"format": INCLUSION_FORMAT, **inclusion_part(row, path), "checkpoint": note}
    if since is not None:
        document["consistency"] = _consistency_since(connection, since, checkpoint)
    return document


def prove_consistency(engine: Engine, old_size: int, new_size: int) -> dict[str, Any]:
    """A consistency-proof document between two stored checkpoints."""
    if old_size > new_size:
        raise TransparencyError(f"The old size {old_size} is larger than the new size {new_size}.")
    old, new = get_checkpoint(engine, old_size), get_checkpoint(engine, new_size)
    with engine.connect() as connection:
        part = _consistency_since(connection, old_size, new)
        notes = [cosigned_note(connection, stored.size, stored.note) for stored in (old, new)]
    return {"format": CONSISTENCY_FORMAT, "old_checkpoint": notes[0], "checkpoint": notes[1], "consistency": part}


def bundle_checkpoint(engine: Engine, signer: Signer | None) -> StoredCheckpoint:
    """The checkpoint a bundle is proven under: with a signer one covering the ledger's head
    (signed if needed), so balances are current; without, the newest one."""
    with engine.connect() as connection:
        head = connection.execute(select(func.max(TRANSFERS.c.seq))).scalar() or 0
    checkpoint = checkpoint_covering(engine, signer, head) if signer is not None else latest_checkpoint(engine)
    if checkpoint is None:
        raise TransparencyError("The ledger has no checkpoint yet; run `fairsplit ledger checkpoint`.")
    return checkpoint


def balance_bundle(
    engine: Engine, account: str, signer: Signer | None = None, since: int | None = None
) -> dict[str, Any]:
    """A balance bundle: every entry of `account` up to a checkpoint, each with its proof.

    With a signer, the checkpoint covers the ledger's head (one is signed if needed), so
    the balance is the current one; without, it is the balance as of the newest checkpoint.
    """
    checkpoint = bundle_checkpoint(engine, signer)
    size = checkpoint.size
    with engine.connect() as connection:
        rows = connection.execute(
            select(TRANSFERS)
            .where(or_(TRANSFERS.c.credit_account == account, TRANSFERS.c.debit_account == account))
            .where(TRANSFERS.c.seq <= size)
            .order_by(TRANSFERS.c.seq)
        ).mappings().all()
        wanted = sorted({node for row in rows for node in nodes_for_inclusion(row["seq"] - 1, size)})
        nodes = node_fetcher(connection)(wanted)
        consistency = None if since is None else _consistency_since(connection, since, checkpoint)
        note = cosigned_note(connection, size, checkpoint.note)
        evidence = evidence_part(connection, rows, size)  # what the rewards were paid for, and the keys
    fetch_known = lambda wanted_nodes: {n: nodes[n] for n in wanted_nodes if n in nodes}  # noqa: E731
    balances: dict[str, int] = {}
    entries = []
    for row in rows:
        sign = 1 if row["credit_account"] == account else -1
        balances[row["currency"]] = balances.get(row["currency"], 0) + sign * row["amount"]
        entries.append(inclusion_part(row, inclusion_proof(row["seq"] - 1, size, fetch_known)))
    document = {
        "format": BUNDLE_FORMAT, "account": account, "balances": dict(sorted(balances.items())),
        "display": display_balances(balances),
        "entries": entries, **evidence, "checkpoint": note,
    }
    if consistency is not None:
        document["consistency"] = consistency
    return document


