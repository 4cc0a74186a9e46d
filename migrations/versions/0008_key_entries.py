"""Log entries that move no money: ledger key changes (kind `key`) and period closes (kind `close`).

The transfer CHECKs are relaxed to admit them: `amount > 0 OR kind IN ('key', 'close')`
and kinds ('reward', 'payout', 'reversal', 'adjustment', 'key', 'close'). Memo limits are
the application's (`ledger.books.system_entries`); the column was always unbounded text. No row
changes: a ledger written before keeps verifying, and `fairsplit init` anchors its key
history in the log (`ledger.keys.lifecycle.init_key_history`).

SQLite cannot alter a CHECK in place; relaxing one by rewriting the table's schema text is
the documented way (sqlite.org/lang_altertable.html, "making other kinds of table schema
changes"), and it leaves the rows, indexes and append-only triggers untouched.

Revision ID: 0008_key_entries
Revises: 0007_witness_cosignatures
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0008_key_entries"
down_revision = "0007_witness_cosignatures"
branch_labels = None
depends_on = None

AMOUNT = "amount > 0 OR kind IN ('key', 'close')"
KINDS = "kind IN ('reward', 'payout', 'reversal', 'adjustment', 'key', 'close')"
_OLD = {"ck_transfers_amount_positive": "amount > 0",
        "ck_transfers_kind": "kind IN ('reward', 'payout', 'reversal', 'adjustment')"}
_NEW = {"ck_transfers_amount_positive": AMOUNT, "ck_transfers_kind": KINDS}


def _sqlite_rewrite(old: dict[str, str], new: dict[str, str]) -> None:
    bind = op.get_bind()
    sql = bind.execute(text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'transfers'")).scalar()
    for name, condition in old.items():
        before = f"CONSTRAINT {name} CHECK ({condition})"
        if before not in sql:
            raise RuntimeError(f"transfers has no CHECK {name} as written by 0001_ledger_core")
        sql = sql.replace(before, f"CONSTRAINT {name} CHECK ({new[name]})")
    version = bind.execute(text("PRAGMA schema_version")).scalar()
    bind.execute(text("PRAGMA writable_schema = ON"))
    bind.execute(text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'transfers'"), {"sql": sql})
    bind.execute(text(f"PRAGMA schema_version = {int(version) + 1}"))
    bind.execute(text("PRAGMA writable_schema = OFF"))
    if bind.execute(text("PRAGMA integrity_check")).scalar() != "ok":
        raise RuntimeError("the SQLite schema rewrite left the database inconsistent")


def _postgres(conditions: dict[str, str]) -> None:
    for name, condition in conditions.items():
        op.execute(f"ALTER TABLE transfers DROP CONSTRAINT {name}")
        op.execute(f"ALTER TABLE transfers ADD CONSTRAINT {name} CHECK ({condition})")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rewrite(_OLD, _NEW)
    else:
        _postgres(_NEW)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rewrite(_NEW, _OLD)
    else:
        _postgres(_OLD)
