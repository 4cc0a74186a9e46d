"""Payout fixtures: a migrated ledger with a signing key, on both backends."""

from __future__ import annotations

import pytest

from ledger.db import make_engine, upgrade_to_head
from ledger.keys import load_or_create_signer
from ledger.store import Ledger
from tests.payouts.support import PayoutEnv


@pytest.fixture
def env(database_url, tmp_path) -> PayoutEnv:
    upgrade_to_head(database_url)
    engine = make_engine(database_url)
    key_dir = str(tmp_path / "keys")
    signer, _ = load_or_create_signer(key_dir, engine)
    yield PayoutEnv(database_url, engine, signer, Ledger(engine, signer), key_dir)
    engine.dispose()
