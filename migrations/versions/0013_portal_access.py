"""The artists' portal's access tables: login-token hashes and revocations (append-only).

Written only by `fairsplit portal token|revoke`; the portal itself reads them with a
SELECT-only role (docs/portal.md). See `ledger.books.portal_schema`.

Revision ID: 0013_portal_access
Revises: 0010_reward_evidence
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_portal_access"
down_revision = "0010_reward_evidence"
branch_labels = None
depends_on = None

TABLES = ("portal_tokens", "portal_revocations")


def upgrade() -> None:
    op.create_table(
        "portal_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("artist_id", sa.String(64), sa.ForeignKey("artists.artist_id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("expires_at > created_at", name="ck_portal_tokens_expiry"),
    )
    op.create_index("ix_portal_tokens_artist_id", "portal_tokens", ["artist_id"])
    op.create_table(
        "portal_revocations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("artist_id", sa.String(64), sa.ForeignKey("artists.artist_id"), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_portal_revocations_artist_id", "portal_revocations", ["artist_id"])
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        if sqlite:
            for name in ("UPDATE", "DELETE"):
                op.execute(f"""CREATE TRIGGER {table}_no_{name.lower()} BEFORE {name} ON {table}
                    BEGIN SELECT RAISE(ABORT, 'ledger table {table} is append-only: {name} rejected'); END""")
            continue
        for name, each in (("update", "ROW"), ("delete", "ROW"), ("truncate", "STATEMENT")):
            op.execute(f"CREATE TRIGGER {table}_no_{name} BEFORE {name.upper()} ON {table} "
                       f"FOR EACH {each} EXECUTE FUNCTION ledger_reject_change()")


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
