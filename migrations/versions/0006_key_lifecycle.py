"""Key lifecycle: every platform key ever registered, and revocations of platform and service keys.

- `platform_keys`: one row per public key a platform has signed events with (the first
  one copied from `platforms`); a rotation adds a row, never replaces one, so events
  signed before stay verifiable.
- `key_revocations`: a platform or service (attribution-worker) key that must no longer
  be trusted, from `revoked_at` on, and why. A key is revoked once.
Both are append-only by trigger, like every ledger table.

Revision ID: 0006_key_lifecycle
Revises: 0005_artist_works
Create Date: 2026-11-25
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op
from cryptography.hazmat.primitives import serialization

revision = "0006_key_lifecycle"
down_revision = "0005_artist_works"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
TABLES = ("platform_keys", "key_revocations")


def _key_id(pem: str) -> str:
    raw = serialization.load_pem_public_key(pem.encode()).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return hashlib.sha256(raw).hexdigest()[:16]


def _triggers(table: str, sqlite: bool) -> list[str]:
    if sqlite:
        return [
            f"""CREATE TRIGGER {table}_no_{name.lower()} BEFORE {name} ON {table}
                BEGIN SELECT RAISE(ABORT, 'ledger table {table} is append-only: {name} rejected'); END"""
            for name in ("UPDATE", "DELETE")
        ]
    # ledger_reject_change() is created by 0001_ledger_core.
    return [
        f"CREATE TRIGGER {table}_no_{name.lower()} BEFORE {name} ON {table} FOR EACH {each} "
        "EXECUTE FUNCTION ledger_reject_change()"
        for name, each in (("UPDATE", "ROW"), ("DELETE", "ROW"), ("TRUNCATE", "STATEMENT"))
    ]


def upgrade() -> None:
    platform_keys = op.create_table(
        "platform_keys",
        sa.Column("key_id", sa.String(16), primary_key=True),
        sa.Column("platform_id", sa.String(64), sa.ForeignKey("platforms.platform_id"), nullable=False),
        sa.Column("public_key_pem", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_platform_keys_platform", "platform_keys", ["platform_id"])
    op.create_table(
        "key_revocations",
        sa.Column("owner", sa.String(16), primary_key=True),
        sa.Column("key_id", sa.String(16), primary_key=True),
        sa.Column("revoked_at", TZ, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.CheckConstraint("owner IN ('platform', 'service')", name="ck_key_revocations_owner"),
    )
    bind = op.get_bind()
    platforms = sa.table("platforms", sa.column("platform_id", sa.String), sa.column("public_key_pem", sa.Text),
                         sa.column("created_at", TZ))
    rows = bind.execute(sa.select(platforms.c.platform_id, platforms.c.public_key_pem, platforms.c.created_at)).all()
    if rows:
        op.bulk_insert(platform_keys, [
            {"key_id": _key_id(pem), "platform_id": platform_id, "public_key_pem": pem, "created_at": created_at}
            for platform_id, pem, created_at in rows
        ])
    sqlite = bind.dialect.name == "sqlite"
    for table in TABLES:
        for statement in _triggers(table, sqlite):
            op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        for name in ("update", "delete") + (() if sqlite else ("truncate",)):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{name}" + ("" if sqlite else f" ON {table}"))
        op.drop_table(table)
