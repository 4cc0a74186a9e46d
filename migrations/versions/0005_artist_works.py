"""Thumbnails of artists' reference works, so `fairsplit explain` can show them.

Append-only by trigger, like the registry they belong to.

Revision ID: 0005_artist_works
Revises: 0004_merkle
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_artist_works"
down_revision = "0004_merkle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "artist_works",
        sa.Column("artist_id", sa.String(64), sa.ForeignKey("artists.artist_id"), primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("thumbnail_png", sa.LargeBinary, nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite":
        for name in ("UPDATE", "DELETE"):
            op.execute(f"""CREATE TRIGGER artist_works_no_{name.lower()} BEFORE {name} ON artist_works
                BEGIN SELECT RAISE(ABORT, 'ledger table artist_works is append-only: {name} rejected'); END""")
        return
    for name, each in (("update", "ROW"), ("delete", "ROW"), ("truncate", "STATEMENT")):
        op.execute(f"CREATE TRIGGER artist_works_no_{name} BEFORE {name.upper()} ON artist_works "
                   f"FOR EACH {each} EXECUTE FUNCTION ledger_reject_change()")


def downgrade() -> None:
    op.drop_table("artist_works")
