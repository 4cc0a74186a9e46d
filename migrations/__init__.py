"""Alembic migrations of the ledger schema (`ledger.books.db.upgrade_to_head` runs them)."""
