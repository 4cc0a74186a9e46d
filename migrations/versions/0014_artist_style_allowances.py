"""Operators' recorded exceptions to the one-style-one-artist rule at registration.

An artist whose gallery is within the profile's style distance of a registered artist's
is refused (a shell company of that style) unless an operator records, here, which artist
it resembles, how close it was, and why it may register. Append-only by trigger, like
the registry it belongs to.

Revision ID: 0014_artist_style_allowances
Revises: 0013_portal_access
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_artist_style_allowances"
down_revision = "0013_portal_access"
branch_labels = None
depends_on = None

TABLE = "artist_style_allowances"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("artist_id", sa.String(64), sa.ForeignKey("artists.artist_id"), primary_key=True),
        sa.Column("similar_to", sa.String(64), sa.ForeignKey("artists.artist_id"), primary_key=True),
        sa.Column("distance", sa.Float, nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("artist_id <> similar_to", name="ck_artist_style_allowances_other"),
    )
    if op.get_bind().dialect.name == "sqlite":
        for name in ("UPDATE", "DELETE"):
            op.execute(f"""CREATE TRIGGER {TABLE}_no_{name.lower()} BEFORE {name} ON {TABLE}
                BEGIN SELECT RAISE(ABORT, 'ledger table {TABLE} is append-only: {name} rejected'); END""")
        return
    for name, each in (("update", "ROW"), ("delete", "ROW"), ("truncate", "STATEMENT")):
        op.execute(f"CREATE TRIGGER {TABLE}_no_{name} BEFORE {name.upper()} ON {TABLE} "
                   f"FOR EACH {each} EXECUTE FUNCTION ledger_reject_change()")


def downgrade() -> None:
    op.drop_table(TABLE)
