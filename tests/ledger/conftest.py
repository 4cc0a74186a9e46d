"""Ledger fixtures: a migrated database with a signing key, on both backends."""

from __future__ import annotations

import pytest

from ledger.db import make_engine, upgrade_to_head
from ledger.keys import load_or_create_signer
from ledger.store import Ledger
from tests.ledger.support import LedgerEnv


@pytest.fixture
def env(database_url, tmp_path) -> LedgerEnv:
    upgrade_to_head(database_url)
    engine = make_engine(database_url)
    key_dir = str(tmp_path / "keys")
    signer, created = load_or_create_signer(key_dir, engine)
    assert created
    yield LedgerEnv(database_url, engine, signer, Ledger(engine, signer), key_dir)
    engine.dispose()
