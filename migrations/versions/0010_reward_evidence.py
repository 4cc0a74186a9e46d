"""Evidence-bound rewards: system entries in the log and the evidence rewards are paid for.

- `transfers` may hold entries that move no money (kinds `key` and `close`, amount 0,
  between `ledger:` accounts): the CHECKs become `amount > 0 OR kind IN ('key', 'close')`
  and `kind IN ('reward', 'payout', 'reversal', 'adjustment', 'key', 'close')` — the same
  final definitions as 0008 (ledger key history), so applying both is harmless.
- `ix_transfers_key_entries`: a partial index over the `key` entries, so the key history
  is read without scanning the money.
- `reward_evidence`: the worker-signed result (with the platform-signed event inside)
  each reward was paid for, keyed by the SHA-256 its transfers name. Append-only by
  trigger, like every ledger table.

SQLite cannot alter a CHECK: the table's stored definition is rewritten in place
(`PRAGMA writable_schema`, SQLite's documented procedure for loosening constraints,
safe because every stored row satisfies the looser ones), inside the migration's
transaction.

Revision ID: 0010_reward_evidence
Revises: 0007_witness_cosignatures
Create Date: 2026-12-06
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0010_reward_evidence"
down_revision = "0007_witness_cosignatures"
branch_labels = None
depends_on = None

TABLE = "reward_evidence"
AMOUNT_CHECK = "amount > 0 OR kind IN ('key', 'close')"
KIND_CHECK = "kind IN ('reward', 'payout', 'reversal', 'adjustment', 'key', 'close')"


def _relax_checks_sqlite(bind) -> None:
    sql = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'transfers'")).scalar()
    if "'key'" in sql:
        return  # relaxed already (by 0008)
    new = re.sub(r"CONSTRAINT ck_transfers_amount_positive CHECK \(amount > 0\)",
                 f"CONSTRAINT ck_transfers_amount_positive CHECK ({AMOUNT_CHECK})", sql)
    new = re.sub(r"CONSTRAINT ck_transfers_kind CHECK \(kind IN \([^)]*\)\)",
                 f"CONSTRAINT ck_transfers_kind CHECK ({KIND_CHECK})", new)
    if new.count("'key'") != 2:
        raise RuntimeError("transfers' CHECK constraints are not the ones 0001 created; refusing to rewrite them")
    version = bind.execute(sa.text("PRAGMA schema_version")).scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'transfers'"), {"sql": new})
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def _relax_checks_postgres() -> None:
    for name, check in (("ck_transfers_amount_positive", AMOUNT_CHECK), ("ck_transfers_kind", KIND_CHECK)):
        op.execute(f"ALTER TABLE transfers DROP CONSTRAINT IF EXISTS {name}, ADD CONSTRAINT {name} CHECK ({check})")


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        _relax_checks_sqlite(bind)
    else:
        _relax_checks_postgres()
    op.execute("CREATE INDEX IF NOT EXISTS ix_transfers_key_entries ON transfers (seq) WHERE kind = 'key'")
    op.create_table(
        TABLE,
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(digest) = 64", name="ck_reward_evidence_digest"),
    )
    if sqlite:
        for name in ("UPDATE", "DELETE"):
            op.execute(f"""CREATE TRIGGER {TABLE}_no_{name.lower()} BEFORE {name} ON {TABLE}
                BEGIN SELECT RAISE(ABORT, 'ledger table {TABLE} is append-only: {name} rejected'); END""")
        return
    for name, each in (("update", "ROW"), ("delete", "ROW"), ("truncate", "STATEMENT")):
        op.execute(f"CREATE TRIGGER {TABLE}_no_{name} BEFORE {name.upper()} ON {TABLE} "
                   f"FOR EACH {each} EXECUTE FUNCTION ledger_reject_change()")


def downgrade() -> None:
    raise NotImplementedError("The ledger is append-only: evidence and system entries are never dropped by a migration.")
