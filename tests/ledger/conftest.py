"""Ledger fixtures: a migrated database with a signing key, on both backends."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, text

from ledger.db import make_engine, upgrade_to_head
from ledger.keys import Signer, load_or_create_signer
from ledger.store import Ledger


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


@pytest.fixture
def env(database_url, tmp_path) -> LedgerEnv:
    upgrade_to_head(database_url)
    engine = make_engine(database_url)
    key_dir = str(tmp_path / "keys")
    signer, created = load_or_create_signer(key_dir, engine)
    assert created
    yield LedgerEnv(database_url, engine, signer, Ledger(engine, signer), key_dir)
    engine.dispose()
