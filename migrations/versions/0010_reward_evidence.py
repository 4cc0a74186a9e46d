"""Evidence-bound rewards: the evidence each reward is paid for.

- `ix_transfers_key_entries`: a partial index over the `key` entries (0008 admits them:
  amount 0, between `ledger:` accounts), so the key histories are read without scanning
  the money.
- `reward_evidence`: the worker-signed result (with the platform-signed event inside)
  each reward was paid for, keyed by the SHA-256 its transfers name. Append-only by
  trigger, like every ledger table.

Revision ID: 0010_reward_evidence
Revises: 0009_maintained_balances
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_reward_evidence"
down_revision = "0009_maintained_balances"
branch_labels = None
depends_on = None

TABLE = "reward_evidence"


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
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
    raise NotImplementedError("The ledger is append-only: evidence is never dropped by a migration.")
