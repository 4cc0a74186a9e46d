"""Alembic migrations of the ledger schema (`ledger.db.upgrade_to_head` runs them)."""
