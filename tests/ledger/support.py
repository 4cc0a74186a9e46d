"""Helpers of the ledger tests (fixtures stay in conftest.py, helpers live here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, text

from ledger.keys.signing import Signer
from ledger.books.store import Ledger

WHEN = datetime(2026, 11, 24, 12, 0, 0, 123456, tzinfo=UTC)


@dataclass
class LedgerEnv:
    url: str
    engine: Engine
    signer: Signer
    ledger: Ledger
    key_dir: str
    key_created: bool = field(default=False, compare=False)  # a new key was made and registered

    def sql(self, statement: str, **params) -> None:
        """Run raw SQL in its own transaction (for tampering and trigger tests)."""
        with self.engine.begin() as connection:
            connection.execute(text(statement), params)

    def drop_trigger(self, name: str, table: str) -> None:
        """Remove an append-only trigger: what an attacker with DDL rights could do."""
        suffix = "" if self.engine.dialect.name == "sqlite" else f" ON {table}"
        self.sql(f"DROP TRIGGER {name}{suffix}")


def make_ledger_env(url: str, key_dir, cls: type[LedgerEnv] = LedgerEnv) -> LedgerEnv:
    """A migrated ledger at `url` with a new signing key in `key_dir`, as a `cls`.

    A fresh test database is brought to head the cheap way (tests/databases.py): a
    SQLite file not made yet is a copy of the session's template, a PostgreSQL clone is
    at head already; anything else runs the migrations."""
    from ledger.books.db import make_engine
    from ledger.keys.signing import load_or_create_signer
    from tests.databases import migrate_fresh

    migrate_fresh(url)
    engine = make_engine(url)
    signer, created = load_or_create_signer(str(key_dir), engine)
    return cls(url, engine, signer, Ledger(engine, signer), str(key_dir), created)


def ledger_at(url: str, key_dir: str, revision: str) -> Ledger:
    """A ledger whose database stops at migration `revision` (to test the upgrades after it),
    with a new signing key in `key_dir`."""
    from alembic import command

    from ledger.books.db import alembic_config, make_engine
    from ledger.keys.signing import load_or_create_signer

    engine = make_engine(url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    signer, _ = load_or_create_signer(key_dir, engine)
    return Ledger(engine, signer)
