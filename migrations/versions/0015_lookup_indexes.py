"""Two partial indexes, so two lookups cost what they find, not the ledger's size:

- `ix_transfers_reverses` (transfers.reverses_id, where set): the reversals of a reward,
  which `ledger verify --since` sums for each reward a new reversal takes back;
- `ix_events_test_model` (events.event_id, where a test model attributed the event): the
  events whose shares mean nothing, which `balance` and the portal look for among an
  account's rewards (`ledger.views.accounts.paid_by_test_models`).

An in-place upgrade: no row is rewritten (the transfers' hashes, chain and tree are
unchanged); the indexes are built from the rows there are.

Revision ID: 0015_lookup_indexes
Revises: 0014_artist_style_allowances
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0015_lookup_indexes"
down_revision = "0014_artist_style_allowances"
branch_labels = None
depends_on = None

# As `ledger.books.schema` writes it then (a migration keeps the text it ran with); `\:` is a colon to `text()`.
TEST_MODEL_EVENT = r"""attribution_json LIKE '%"test_model"\:true%'"""


def upgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS ix_transfers_reverses ON transfers (reverses_id) "
               "WHERE reverses_id IS NOT NULL")
    op.execute(f"CREATE INDEX IF NOT EXISTS ix_events_test_model ON events (event_id) WHERE {TEST_MODEL_EVENT}")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_events_test_model")
    op.execute("DROP INDEX IF EXISTS ix_transfers_reverses")
