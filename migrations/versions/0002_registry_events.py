"""Registries (artists, platforms, service keys) and the record of attributed events.

All four tables are append-only by trigger, like the transfers: a platform key or an
artist's gallery is never swapped under money already recorded, and an event's record
is written once, in the transaction that pays it.

Revision ID: 0002_registry_events
Revises: 0001_ledger_core
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_registry_events"
down_revision = "0001_ledger_core"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
TABLES = ("artists", "platforms", "service_keys", "events")


def _sqlite_triggers(table: str) -> list[str]:
    return [
        f"""CREATE TRIGGER {table}_no_{op_name.lower()} BEFORE {op_name} ON {table}
            BEGIN SELECT RAISE(ABORT, 'ledger table {table} is append-only: {op_name} rejected'); END"""
        for op_name in ("UPDATE", "DELETE")
    ]


def _postgres_triggers(table: str) -> list[str]:
    # ledger_reject_change() is created by 0001_ledger_core.
    return [
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION ledger_reject_change()",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION ledger_reject_change()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change()",
    ]


def upgrade() -> None:
    op.create_table(
        "artists",
        sa.Column("artist_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("gallery", sa.LargeBinary, nullable=False),
        sa.Column("gallery_dim", sa.Integer, nullable=False),
        sa.Column("gallery_count", sa.Integer, nullable=False),
        sa.Column("gallery_model_id", sa.String(300), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "platforms",
        sa.Column("platform_id", sa.String(64), primary_key=True),
        sa.Column("public_key_pem", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "service_keys",
        sa.Column("key_id", sa.String(16), primary_key=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("public_key_pem", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("event_id", sa.String(200), primary_key=True),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("platform_id", sa.String(64), nullable=False),
        sa.Column("model_id", sa.String(200), nullable=False),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("reward_amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("attribution_id", sa.String(200), nullable=False),
        sa.Column("attribution_json", sa.Text, nullable=False),
        sa.Column("event_json", sa.Text, nullable=False),
        sa.Column("recorded_at", TZ, nullable=False),
    )
    op.create_index("ix_events_platform_id", "events", ["platform_id"])
    op.create_index("ix_events_occurred_at", "events", ["occurred_at"])
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        for statement in (_sqlite_triggers if sqlite else _postgres_triggers)(table):
            op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        for suffix in ("update", "delete") + (() if sqlite else ("truncate",)):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{suffix}" + ("" if sqlite else f" ON {table}"))
    for table in reversed(TABLES):
        op.drop_table(table)
