"""Helpers of the ledger tests (fixtures stay in conftest.py, helpers live here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, text

from ledger.keys import Signer
from ledger.store import Ledger

WHEN = datetime(2026, 11, 24, 12, 0, 0, 123456, tzinfo=UTC)


@dataclass
class LedgerEnv:
    url: str
    engine: Engine
    signer: Signer
    ledger: Ledger
    key_dir: str

    def sql(self, statement: str, **params) -> None:
        """Run raw SQL in its own transaction (for tampering and trigger tests)."""
        with self.engine.begin() as connection:
            connection.execute(text(statement), params)

    def drop_trigger(self, name: str, table: str) -> None:
        """Remove an append-only trigger: what an attacker with DDL rights could do."""
        suffix = "" if self.engine.dialect.name == "sqlite" else f" ON {table}"
        self.sql(f"DROP TRIGGER {name}{suffix}")


def make_ledger_env(url: str, key_dir) -> LedgerEnv:
    """A migrated ledger at `url` with a new signing key in `key_dir`."""
    from ledger.db import make_engine, upgrade_to_head
    from ledger.keys import load_or_create_signer

    upgrade_to_head(url)
    engine = make_engine(url)
    signer, _ = load_or_create_signer(str(key_dir), engine)
    return LedgerEnv(url, engine, signer, Ledger(engine, signer), str(key_dir))
