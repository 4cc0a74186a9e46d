"""Alembic environment: runs on a connection handed over by `ledger.books.db.upgrade_to_head`,
or on `FAIRSPLIT_DATABASE_URL` (default `sqlite:///./fairsplit.db`) when run by hand."""

from __future__ import annotations

import os

from alembic import context

from ledger.books.db import make_engine


def _migrate(connection) -> None:
    context.configure(connection=connection, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = make_engine(os.environ.get("FAIRSPLIT_DATABASE_URL", "sqlite:///./fairsplit.db"))
    with engine.begin() as connection:
        _migrate(connection)


if context.is_offline_mode():
    raise SystemExit("fairsplit migrations run online only (they create triggers per backend).")
run_migrations_online()
