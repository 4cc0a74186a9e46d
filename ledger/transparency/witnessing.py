"""The ledger's side of witnessing: what to send a witness, what it returned, what it proves.

- `submission(engine, key, old_size)`: the newest checkpoint and the RFC 6962 consistency
  proof from the size the witness holds (`old_size`), or None when that witness already
  cosigned it. Proofs come from the stored tree, so any size the ledger ever had works.
- `record_cosignature(engine, stored, key, response)`: verify a witness's response (its
  cosignature lines, C2SP tlog-cosignature) against the checkpoint and keep it, once.
- `verify_witnessing(engine, keys, quorum, views)`: for `ledger verify --witness-key`:
  the newest checkpoint carries a quorum of valid cosignatures, every kept cosignature of
  those witnesses verifies, and each witness view (the latest checkpoint a witness
  cosigned, as it serves it) is a prefix of the ledger's tree — so entries removed or
  rewritten after a witness saw them are caught even when the database looks consistent.

No network here: `services.witness_client` speaks HTTP and calls these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from ledger.tlog.checkpoint import Checkpoint, CheckpointError, parse_note
from ledger.tlog.cosignature import Cosignature, CosignerKey, require_quorum, verified_cosignatures
from ledger.books.db import WRITE_OPTION
from ledger.books.encoding import encode_row
from ledger.tlog.merkle import Frontier, consistency_proof, leaf_hash
from ledger.transparency.tree import CHECKPOINTS, TRANSFERS, StoredCheckpoint, all_transfers, newest_checkpoint_in, node_fetcher
from ledger.transparency.cosigned_notes import cosigned_note
from ledger.books.schema import WITNESS_COSIGNATURES as COSIGNATURES


def last_cosigned_size(engine: Engine, key: CosignerKey) -> int:
    """The largest checkpoint this witness cosigned for us: our best guess of what it holds."""
    with engine.connect() as connection:
        size = connection.execute(
            select(func.max(COSIGNATURES.c.tree_size))
            .where(COSIGNATURES.c.witness == key.name, COSIGNATURES.c.key_id == key.key_id.hex())
        ).scalar()
    return 0 if size is None else int(size)


@dataclass(frozen=True)
class Submission:
    checkpoint: StoredCheckpoint
    old_size: int
    proof: list[bytes]


def submission(engine: Engine, key: CosignerKey, old_size: int) -> Submission | None:
    """The newest checkpoint for `key`'s witness, proven from `old_size`; None if nothing to ask.

    Raises ValueError when the witness holds a larger tree than the newest checkpoint:
    the ledger cannot prove anything to it (its history lost entries the witness saw).
    """
    with engine.connect() as connection:
        latest = newest_checkpoint_in(connection)
        if latest is None:
            return None
        if old_size > latest.size:
            raise ValueError(
                f"witness {key.name} holds a tree of {old_size} entries, larger than the newest checkpoint "
                f"({latest.size}): entries it saw are gone from this ledger"
            )
        done = connection.execute(select(COSIGNATURES.c.tree_size).where(
            COSIGNATURES.c.tree_size == latest.size, COSIGNATURES.c.witness == key.name,
            COSIGNATURES.c.key_id == key.key_id.hex())).first()
        if done is not None:
            return None
        proof = consistency_proof(old_size, latest.size, node_fetcher(connection))
    return Submission(latest, old_size, proof)


def record_cosignature(engine: Engine, stored: StoredCheckpoint, key: CosignerKey, response: str) -> Cosignature:
    """Verify the witness's response lines on `stored` and keep its cosignature (idempotent).

    CheckpointError when the response holds no valid cosignature by `key`.
    """
    if not response.endswith("\n") or not response.startswith("\u2014 "):
        raise CheckpointError(f"Witness {key.name} answered something that is not cosignature lines.")
    found = verified_cosignatures(stored.note + response, [key])
    if not found:
        raise CheckpointError(f"Witness {key.name} answered without a cosignature by its key.")
    cosignature = found[0]
    row = {"tree_size": stored.size, "witness": key.name, "key_id": key.key_id.hex(),
           "cosigned_at": cosignature.timestamp, "line": cosignature.line, "received_at": datetime.now(UTC)}
    try:  # the write lock up front: the ledger writer may be appending on SQLite meanwhile
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
            exists = connection.execute(select(COSIGNATURES.c.tree_size).where(
                COSIGNATURES.c.tree_size == stored.size, COSIGNATURES.c.witness == key.name,
                COSIGNATURES.c.key_id == row["key_id"])).first()
            if exists is None:
                connection.execute(insert(COSIGNATURES).values(**row))
    except IntegrityError:
        pass  # another process kept this witness's cosignature of this checkpoint first
    return cosignature


def witnesses_of(engine: Engine, tree_size: int, keys: Sequence[CosignerKey]) -> list[Cosignature]:
    """The verified cosignatures kept for checkpoint `tree_size` by these witnesses."""
    with engine.connect() as connection:
        row = connection.execute(select(CHECKPOINTS).where(CHECKPOINTS.c.tree_size == tree_size)).first()
        if row is None:
            return []
        note = cosigned_note(connection, tree_size, row.note)
    return verified_cosignatures(note, keys)


# --- verification -------------------------------------------------------------------------


@dataclass
class WitnessReport:
    ok: bool
    checkpoint: int | None = None  # the newest checkpoint's tree size
    cosigned_by: list[str] = field(default_factory=list)
    unwitnessed_entries: int = 0  # entries booked after the newest checkpoint
    views: int = 0  # witness views checked against the tree
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checkpoint": self.checkpoint, "cosigned_by": self.cosigned_by,
                "unwitnessed_entries": self.unwitnessed_entries, "views": self.views, "problem": self.problem}


def verify_witnessing(
    engine: Engine, keys: Sequence[CosignerKey], quorum: int, views: Sequence[str | bytes] = ()
) -> WitnessReport:
    """See the module docstring; never raises for bad data, the report says what is wrong.

    Witness views are compared with the tree recomputed from the transfers themselves
    (not the stored nodes, which whoever rewrote the transfers may have left alone).
    """
    report = WitnessReport(ok=False)
    with engine.connect() as connection:
        head = connection.execute(select(func.max(TRANSFERS.c.seq))).scalar() or 0
        latest = newest_checkpoint_in(connection)
        rows = connection.execute(select(CHECKPOINTS).order_by(CHECKPOINTS.c.tree_size)).all()
        notes = {int(row.tree_size): cosigned_note(connection, int(row.tree_size), row.note) for row in rows}
    for size, note in notes.items():
        try:
            verified_cosignatures(note, keys)
        except CheckpointError as exc:
            report.problem = f"checkpoint {size}: {exc}"
            return report
    if latest is None:
        report.ok, report.unwitnessed_entries = head == 0, head
        report.problem = None if report.ok else f"the ledger has {head} entries and no checkpoint a witness could cosign"
        return report
    report.checkpoint, report.unwitnessed_entries = latest.size, max(0, head - latest.size)
    claims = []
    for number, view in enumerate(views, 1):
        claim = _view_claim(view, keys, latest.checkpoint.origin)
        if isinstance(claim, str):
            report.problem = f"witness view {number}: {claim}"
            return report
        claims.append(claim)
    roots = _roots_at(engine, {checkpoint.size for checkpoint, _ in claims})
    for number, (checkpoint, names) in enumerate(claims, 1):
        if checkpoint.size not in roots:
            report.problem = (f"witness view {number}: {names} cosigned a tree of {checkpoint.size} entries, but this "
                              f"ledger has only {head}: entries were removed after the witness saw them")
            return report
        if roots[checkpoint.size] != checkpoint.root_hash:
            report.problem = (f"witness view {number}: {names} cosigned another tree of {checkpoint.size} entries "
                              "than this ledger holds: history was rewritten after the witness saw it")
            return report
        report.views += 1
    try:
        cosignatures = require_quorum(notes[latest.size], keys, quorum)
    except CheckpointError as exc:
        report.problem = f"the newest checkpoint ({latest.size} entries): {exc}"
        return report
    report.cosigned_by = sorted(c.key.name for c in cosignatures)
    report.ok = True
    return report


def _view_claim(view: str | bytes, keys: Sequence[CosignerKey], origin: str) -> tuple[Checkpoint, str] | str:
    """A witness's latest cosigned checkpoint and who vouched for it, or why it is unusable."""
    try:
        text, _ = parse_note(view)
        checkpoint = Checkpoint.parse(text)
        vouched = verified_cosignatures(view, keys)
    except CheckpointError as exc:
        return str(exc)
    if not vouched:
        return "it carries no cosignature by the given witness keys"
    if checkpoint.origin != origin:
        return f"it is of log {checkpoint.origin!r}, not {origin!r}"
    return checkpoint, ", ".join(c.key.name for c in vouched)


def _roots_at(engine: Engine, sizes: set[int]) -> dict[int, bytes]:
    """The RFC 6962 root of the first `size` transfers, for each size the ledger reaches."""
    frontier, roots = Frontier(), {}
    if 0 in sizes:
        roots[0] = frontier.root()
    wanted = max(sizes, default=0)
    with engine.connect() as connection:
        for row in all_transfers(connection):
            if frontier.size >= wanted:
                break
            frontier.append([leaf_hash(encode_row(row))])
            if frontier.size in sizes:
                roots[frontier.size] = frontier.root()
    return roots
