"""Every ledger table and the invariants it keeps, in one place (TigerBeetle style: the
invariants are written next to the record types and checked where data is assembled).

Every table is append-only: database triggers reject UPDATE, DELETE (and TRUNCATE on
PostgreSQL) — the only change ever allowed is setting `signing_keys.retired_at` once.
Corrections are new rows (reversal transfers, key revocations, later checkpoints).

Money
`transfers` — one double-entry movement of money.
  1. Double entry: money leaves `debit_account` and enters `credit_account` (never the
     same account); `amount` is an integer number of micro-units (10^-6), 0 < amount <
     2^63 (system entries excepted, see 5). A balance is credits − debits per (account,
     currency); every sum the ledger
     forms is checked to stay inside 64 bits (`ledger.money.checked_total`).
  2. Legs sum to the reward: the reward transfers of one event are the largest-remainder
     split of the event's reward (`ledger.books.store.reward_transfers`), so their amounts add
     up exactly to it; one `Ledger.append` call is one database transaction. Each names
     its evidence in its memo (`evidence:sha256:<digest>`, `ledger.evidence.rewards`), checked
     where booked (`ledger.evidence.store`) and by `ledger.audit.chain`.
  3. Never paid twice: `id = uuid5(TRANSFER_NAMESPACE, f"{event_id}|{payee}|{kind}")`
     where the payee is the credit account, except for `reversal` and `payout`, whose
     subject is the debit account. Re-appending an identical body is a no-op; a different
     body is a conflict. Reward event ids are canonical (`ledger.ids.EVENT_ID`).
  4. Chain: `seq` is 1, 2, 3, … without gaps; `prev_hash` is the previous row's `hash`
     (64 zeros for seq 1); `hash` = SHA-256 of the row's canonical encoding
     (`ledger.books.encoding`, tagged by `version`); `signature` is Ed25519 over the 32 raw
     hash bytes by the key `key_id`, which must be the key the log's own key history
     gives that seq (`ledger.keys.history`; checked under the chain lock before rows are
     sealed, `ledger.keys.log.guard_signer`, and for every row by `ledger.audit.chain`).
  5. Entries of the system kinds `key` and `close` move no money: amount 0, `ledger:`
     accounts only, a canonical-JSON document as memo (`ledger.books.system_entries`). A close
     entry (`ledger.payouts.close_entries`) states one account's balance carried by a close.
`account_balances` — balances maintained as the ledger appends (`ledger.books.balances`): in
  the transaction of each append, one row per (account, currency) it touched, with the
  balance through that append's last seq. The newest row of a pair is its balance;
  `ledger verify` re-derives every row from the transfers.
`signing_keys` — the public half of every key that ever signed a row or checkpoint (the
  rows' foreign key): a cache, never a source of trust; which key signs which seqs is the
  log's key entries' (`ledger.keys.history`), never these times.
`reward_evidence` — the worker-signed result (carrying the platform-signed event) each
  reward was paid for, keyed by the SHA-256 its reward transfers name (`ledger.evidence.rewards`).
`events` — one row per attributed generation event (id = canonical UUID), written in the
  transaction that pays it; the same id with another body is refused (`ledger.books.events`).
`period_closes` — one row per closed (currency, period), written with its payouts;
  `through_seq` is the ledger head right after them. One currency has one cadence, fixed
  at its first close and checked under the chain lock (`ledger.payouts.close`).

Who may take part (`ledger.parties.registry`)
`artists`, `artist_works` — an artist's gallery embedding and thumbnails, registered once.
`platforms`, `platform_keys` — a platform and every key its events were ever signed
  with; `service_keys` — attribution-worker keys an operator enrolled;
`key_revocations` — from `revoked_at` on, nothing signed by that key is trusted.

Proofs (`ledger.transparency.tree`)
`merkle_nodes` — every complete subtree of the RFC 6962 tree over the transfers, written
  once; `checkpoints` — signed tree heads, one per tree size, each consistent with the
  one before; `witness_cosignatures` — a witness's cosignature of a checkpoint, kept only
  after it verified (cosignature/v1) against that checkpoint and the witness's key
  (`ledger.transparency.witnessing`).

A new row encoding gets a new `version`; old rows keep verifying under theirs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (BigInteger, CheckConstraint, Column, DateTime, Float, ForeignKey, Index, Integer, LargeBinary,
                        SmallInteger, String, Text, text)
from sqlmodel import Field, SQLModel

from ledger.books.accounts import SYSTEM_KINDS

TRANSFER_KINDS = ("reward", "payout", "reversal", "adjustment", *SYSTEM_KINDS)
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
        CheckConstraint("amount > 0 OR kind IN ('key', 'close')", name="ck_transfers_amount_positive"),
        CheckConstraint("debit_account <> credit_account", name="ck_transfers_two_accounts"),
        CheckConstraint(
            "kind IN ('reward', 'payout', 'reversal', 'adjustment', 'key', 'close')", name="ck_transfers_kind"
        ),
        CheckConstraint("seq > 0", name="ck_transfers_seq_positive"),
        Index("ix_transfers_credit", "credit_account", "currency", "seq"),
        Index("ix_transfers_debit", "debit_account", "currency", "seq"),
        Index("ix_transfers_event", "event_id"),
        Index("ix_transfers_occurred", "currency", "occurred_at"),
        Index("ix_transfers_key_entries", "seq", postgresql_where=text("kind = 'key'"),
              sqlite_where=text("kind = 'key'")),
        # The reversals of a transfer, found without scanning the money (`ledger verify --since`).
        Index("ix_transfers_reverses", "reverses_id", postgresql_where=text("reverses_id IS NOT NULL"),
              sqlite_where=text("reverses_id IS NOT NULL")),
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


#: The events a test model attributed (their shares mean nothing), as SQL: the predicate of
#: their partial index, written the same in every query that means to use it (for `text()`,
#: in which `\:` is a colon, not a parameter).
TEST_MODEL_EVENT = r"""attribution_json LIKE '%"test_model"\:true%'"""


class EventRow(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_test_model", "event_id", postgresql_where=text(TEST_MODEL_EVENT),
                            sqlite_where=text(TEST_MODEL_EVENT)),)

    event_id: str = Field(sa_column=Column(String(200), primary_key=True))
    body_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    platform_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    model_id: str = Field(sa_column=Column(String(200), nullable=False))
    occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    content: str = Field(sa_column=Column(Text, nullable=False))
    reward_amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    attribution_id: str = Field(sa_column=Column(String(200), nullable=False))
    attribution_json: str = Field(sa_column=Column(Text, nullable=False))
    event_json: str = Field(sa_column=Column(Text, nullable=False))
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class RewardEvidence(SQLModel, table=True):
    """What a reward was paid for: the worker-signed attribution result exactly as booked
    (canonical JSON with its `signature`), which carries the platform-signed event.

    Invariant: `digest` = SHA-256 of `document`'s UTF-8 bytes; every reward transfer of the
    event names it in its memo as `evidence:sha256:<digest>` (`ledger.evidence.rewards`)."""

    __tablename__ = "reward_evidence"

    digest: str = Field(sa_column=Column(String(64), primary_key=True))
    event_id: str = Field(sa_column=Column(String(200), nullable=False))
    document: str = Field(sa_column=Column(Text, nullable=False))
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ArtistRow(SQLModel, table=True):
    __tablename__ = "artists"

    artist_id: str = Field(sa_column=Column(String(64), primary_key=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    gallery: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # float32 little-endian
    gallery_dim: int = Field(sa_column=Column(Integer, nullable=False))
    gallery_count: int = Field(sa_column=Column(Integer, nullable=False))
    gallery_model_id: str = Field(sa_column=Column(String(300), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ArtistWorkRow(SQLModel, table=True):
    __tablename__ = "artist_works"

    artist_id: str = Field(sa_column=Column(String(64), ForeignKey("artists.artist_id"), primary_key=True))
    idx: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    thumbnail_png: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class ArtistStyleAllowanceRow(SQLModel, table=True):
    """An operator's recorded reason why `artist_id` may register although its gallery is
    within the style distance (`threshold`) of `similar_to`'s (`ledger.parties.style_allowances`)."""

    __tablename__ = "artist_style_allowances"
    __table_args__ = (CheckConstraint("artist_id <> similar_to", name="ck_artist_style_allowances_other"),)

    artist_id: str = Field(sa_column=Column(String(64), ForeignKey("artists.artist_id"), primary_key=True))
    similar_to: str = Field(sa_column=Column(String(64), ForeignKey("artists.artist_id"), primary_key=True))
    distance: float = Field(sa_column=Column(Float, nullable=False))
    threshold: float = Field(sa_column=Column(Float, nullable=False))
    reason: str = Field(sa_column=Column(String(500), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class PlatformRow(SQLModel, table=True):
    __tablename__ = "platforms"

    platform_id: str = Field(sa_column=Column(String(64), primary_key=True))
    public_key_pem: str = Field(sa_column=Column(Text, nullable=False))
    # the platform's first key, by its key id (`ledger.crypto.key_id`, the one key identity);
    # rows written before it was so hold SHA-256 of the PEM text. Nothing reads it: the keys
    # themselves are in platform_keys.
    fingerprint: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class PlatformKeyRow(SQLModel, table=True):
    __tablename__ = "platform_keys"
    __table_args__ = (Index("ix_platform_keys_platform", "platform_id"),)

    key_id: str = Field(sa_column=Column(String(16), primary_key=True))
    platform_id: str = Field(sa_column=Column(String(64), ForeignKey("platforms.platform_id"), nullable=False))
    public_key_pem: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class KeyRevocationRow(SQLModel, table=True):
    __tablename__ = "key_revocations"

    owner: str = Field(sa_column=Column(String(16), primary_key=True))  # "platform" | "service"
    key_id: str = Field(sa_column=Column(String(16), primary_key=True))
    revoked_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))


class ServiceKeyRow(SQLModel, table=True):
    __tablename__ = "service_keys"

    key_id: str = Field(sa_column=Column(String(16), primary_key=True))
    role: str = Field(sa_column=Column(String(32), nullable=False))
    public_key_pem: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class PeriodClose(SQLModel, table=True):
    __tablename__ = "period_closes"
    __table_args__ = (
        CheckConstraint("cadence IN ('monthly', 'weekly', 'quarterly')", name="ck_period_closes_cadence"),
        CheckConstraint("through_seq >= 0 AND min_payout >= 0 AND paid_total >= 0", name="ck_period_closes_non_negative"),
        Index("ix_period_closes_seq", "currency", "through_seq"),
    )

    currency: str = Field(sa_column=Column(String(3), primary_key=True))
    period: str = Field(sa_column=Column(String(16), primary_key=True))
    cadence: str = Field(sa_column=Column(String(16), nullable=False))
    closed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    through_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    min_payout: int = Field(sa_column=Column(BigInteger, nullable=False))
    payees: int = Field(sa_column=Column(Integer, nullable=False))
    paid_count: int = Field(sa_column=Column(Integer, nullable=False))
    paid_total: int = Field(sa_column=Column(BigInteger, nullable=False))
    carried_total: int = Field(sa_column=Column(BigInteger, nullable=False))



class AccountBalance(SQLModel, table=True):
    __tablename__ = "account_balances"
    __table_args__ = (Index("ix_account_balances_seq", "through_seq"),)

    account: str = Field(sa_column=Column(String(140), primary_key=True))
    currency: str = Field(sa_column=Column(String(3), primary_key=True))
    through_seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    balance: int = Field(sa_column=Column(BigInteger, nullable=False))


class MerkleNode(SQLModel, table=True):
    __tablename__ = "merkle_nodes"

    level: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))


class CheckpointRecord(SQLModel, table=True):
    __tablename__ = "checkpoints"

    tree_size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    origin: str = Field(sa_column=Column(String(200), nullable=False))
    root_hash: str = Field(sa_column=Column(String(64), nullable=False))
    key_id: str = Field(sa_column=Column(String(16), ForeignKey("signing_keys.key_id"), nullable=False))
    issued_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False))



class WitnessCosignature(SQLModel, table=True):
    __tablename__ = "witness_cosignatures"

    tree_size: int = Field(sa_column=Column(BigInteger, ForeignKey("checkpoints.tree_size"), primary_key=True,
                                            autoincrement=False))
    witness: str = Field(sa_column=Column(String(200), primary_key=True))
    key_id: str = Field(sa_column=Column(String(8), primary_key=True))  # 4 bytes, hex
    cosigned_at: int = Field(sa_column=Column(BigInteger, nullable=False))  # the cosignature's Unix time
    line: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


# The tables as SQLAlchemy Core objects: the one name each is known by everywhere.
TRANSFERS = Transfer.__table__
SIGNING_KEYS = SigningKey.__table__
EVENTS = EventRow.__table__
REWARD_EVIDENCE = RewardEvidence.__table__
ARTISTS = ArtistRow.__table__
ARTIST_WORKS = ArtistWorkRow.__table__
PLATFORMS = PlatformRow.__table__
PLATFORM_KEYS = PlatformKeyRow.__table__
KEY_REVOCATIONS = KeyRevocationRow.__table__
SERVICE_KEYS = ServiceKeyRow.__table__
PERIOD_CLOSES = PeriodClose.__table__
ACCOUNT_BALANCES = AccountBalance.__table__
MERKLE_NODES = MerkleNode.__table__
CHECKPOINTS = CheckpointRecord.__table__
WITNESS_COSIGNATURES = WitnessCosignature.__table__

#: Column order of `transfers`, as the hot path inserts them.
TRANSFER_COLUMNS = tuple(column.name for column in TRANSFERS.columns)

from ledger.books import portal_schema  # noqa: E402,F401  (the portal's access tables join the one metadata)
