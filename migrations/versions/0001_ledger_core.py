"""Ledger core: signing_keys and transfers, append-only by trigger on both backends.

Revision ID: 0001_ledger_core
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_ledger_core"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)

# Trigger names are the same on both backends, so operators (and tests) can name them.
SQLITE_TRIGGERS = [
    """CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers
       BEGIN SELECT RAISE(ABORT, 'ledger table transfers is append-only: UPDATE rejected'); END""",
    """CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers
       BEGIN SELECT RAISE(ABORT, 'ledger table transfers is append-only: DELETE rejected'); END""",
    """CREATE TRIGGER signing_keys_no_delete BEFORE DELETE ON signing_keys
       BEGIN SELECT RAISE(ABORT, 'ledger table signing_keys is append-only: DELETE rejected'); END""",
    """CREATE TRIGGER signing_keys_no_update BEFORE UPDATE ON signing_keys
       WHEN OLD.retired_at IS NOT NULL OR NEW.retired_at IS NULL
         OR NEW.key_id IS NOT OLD.key_id OR NEW.algorithm IS NOT OLD.algorithm
         OR NEW.public_key IS NOT OLD.public_key OR NEW.created_at IS NOT OLD.created_at
       BEGIN SELECT RAISE(ABORT, 'ledger table signing_keys is append-only: only setting retired_at once is allowed'); END""",
]

POSTGRES_TRIGGERS = [
    """CREATE FUNCTION ledger_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'ledger table % is append-only: % rejected', TG_TABLE_NAME, TG_OP
           USING ERRCODE = 'restrict_violation';
       END $$""",
    """CREATE FUNCTION ledger_retire_key_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF OLD.retired_at IS NOT NULL OR NEW.retired_at IS NULL
            OR NEW.key_id IS DISTINCT FROM OLD.key_id OR NEW.algorithm IS DISTINCT FROM OLD.algorithm
            OR NEW.public_key IS DISTINCT FROM OLD.public_key
            OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
           RAISE EXCEPTION 'ledger table signing_keys is append-only: only setting retired_at once is allowed'
             USING ERRCODE = 'restrict_violation';
         END IF;
         RETURN NEW;
       END $$""",
    "CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers FOR EACH ROW EXECUTE FUNCTION ledger_reject_change()",
    "CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers FOR EACH ROW EXECUTE FUNCTION ledger_reject_change()",
    "CREATE TRIGGER transfers_no_truncate BEFORE TRUNCATE ON transfers FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change()",
    "CREATE TRIGGER signing_keys_no_delete BEFORE DELETE ON signing_keys FOR EACH ROW EXECUTE FUNCTION ledger_reject_change()",
    "CREATE TRIGGER signing_keys_no_truncate BEFORE TRUNCATE ON signing_keys FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change()",
    "CREATE TRIGGER signing_keys_no_update BEFORE UPDATE ON signing_keys FOR EACH ROW EXECUTE FUNCTION ledger_retire_key_only()",
]


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("key_id", sa.String(16), primary_key=True),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("retired_at", TZ, nullable=True),
    )
    op.create_table(
        "transfers",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("version", sa.SmallInteger, nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("attribution_id", sa.String(200), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("debit_account", sa.String(140), nullable=False),
        sa.Column("credit_account", sa.String(140), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("reverses_id", sa.String(36), sa.ForeignKey("transfers.id"), nullable=True),
        sa.Column("memo", sa.Text, nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(16), sa.ForeignKey("signing_keys.key_id"), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_transfers_amount_positive"),
        sa.CheckConstraint("debit_account <> credit_account", name="ck_transfers_two_accounts"),
        sa.CheckConstraint("kind IN ('reward', 'payout', 'reversal', 'adjustment')", name="ck_transfers_kind"),
        sa.CheckConstraint("seq > 0", name="ck_transfers_seq_positive"),
    )
    op.create_index("ix_transfers_credit", "transfers", ["credit_account", "currency", "seq"])
    op.create_index("ix_transfers_debit", "transfers", ["debit_account", "currency", "seq"])
    op.create_index("ix_transfers_event", "transfers", ["event_id"])
    triggers = SQLITE_TRIGGERS if op.get_bind().dialect.name == "sqlite" else POSTGRES_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("The ledger is append-only: its core schema is never dropped by a migration.")
