"""Ledger tables and the invariants they keep (TigerBeetle style: written next to the type).

Two record types, both immutable once written:

`transfers` — one double-entry movement of money.
  1. Double entry: money leaves `debit_account` and enters `credit_account` (never the
     same account); `amount` is an integer number of micro-units (10^-6), always > 0.
     A balance is credits − debits per (account, currency).
  2. Legs sum to the reward: the reward transfers of one event are the largest-remainder
     split of the event's reward (`ledger.store.reward_transfers`), so their amounts add
     up exactly to it; one `Ledger.append` call is one database transaction.
  3. Never paid twice: `id = uuid5(TRANSFER_NAMESPACE, f"{event_id}|{payee}|{kind}")`
     where the payee is the credit account, except for `reversal` and `payout`, whose
     subject is the debit account (the account money is taken back from or paid out
     of). Re-appending an identical body is a no-op; a different body is a conflict.
  4. Append-only: database triggers reject UPDATE, DELETE (and TRUNCATE on
     PostgreSQL). Corrections are `reversal` transfers pointing at `reverses_id`.
  5. Chain: `seq` is 1, 2, 3, … without gaps; `prev_hash` is the previous row's `hash`
     (64 zeros for seq 1); `hash` = SHA-256 of the row's canonical encoding
     (`ledger.encoding`, tagged by `version`); `signature` is Ed25519 over the 32 raw
     hash bytes, made by the key `key_id` registered in `signing_keys`.
  `ledger.verify` checks 5 for every row; the database and `ledger.store` enforce 1-4.

`signing_keys` — the public half of every key that ever signed a row, so verification
survives rotation. Rows are never deleted; the only change allowed is setting
`retired_at` once (also enforced by a trigger).

Later revisions (payout periods, Merkle checkpoints) add tables in new migrations; a new
row encoding gets a new `version` and old rows keep verifying under theirs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, ForeignKey, Index, SmallInteger, String, Text
from sqlmodel import Field, SQLModel

TRANSFER_KINDS = ("reward", "payout", "reversal", "adjustment")
GENESIS_HASH = "0" * 64


class SigningKey(SQLModel, table=True):
    __tablename__ = "signing_keys"

    key_id: str = Field(sa_column=Column(String(16), primary_key=True))
    algorithm: str = Field(sa_column=Column(String(16), nullable=False))
    public_key: str = Field(sa_column=Column(String(64), nullable=False, unique=True))  # raw bytes, hex
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    retired_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class Transfer(SQLModel, table=True):
    __tablename__ = "transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_transfers_amount_positive"),
        CheckConstraint("debit_account <> credit_account", name="ck_transfers_two_accounts"),
        CheckConstraint(
            "kind IN ('reward', 'payout', 'reversal', 'adjustment')", name="ck_transfers_kind"
        ),
        CheckConstraint("seq > 0", name="ck_transfers_seq_positive"),
        Index("ix_transfers_credit", "credit_account", "currency", "seq"),
        Index("ix_transfers_debit", "debit_account", "currency", "seq"),
        Index("ix_transfers_event", "event_id"),
    )

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    id: str = Field(sa_column=Column(String(36), nullable=False, unique=True))
    version: int = Field(sa_column=Column(SmallInteger, nullable=False))
    event_id: str = Field(sa_column=Column(String(200), nullable=False))
    attribution_id: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    debit_account: str = Field(sa_column=Column(String(140), nullable=False))
    credit_account: str = Field(sa_column=Column(String(140), nullable=False))
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    reverses_id: str | None = Field(
        default=None, sa_column=Column(String(36), ForeignKey("transfers.id"), nullable=True)
    )
    memo: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    prev_hash: str = Field(sa_column=Column(String(64), nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))
    key_id: str = Field(sa_column=Column(String(16), ForeignKey("signing_keys.key_id"), nullable=False))
    signature: str = Field(sa_column=Column(String(128), nullable=False))  # 64 raw bytes, hex


#: Column order of `transfers`, as the hot path inserts them.
TRANSFER_COLUMNS = tuple(column.name for column in Transfer.__table__.columns)
