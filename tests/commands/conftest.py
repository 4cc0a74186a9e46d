"""Command tests: a migrated ledger with a signing key, on both backends."""

from __future__ import annotations

import pytest

from tests.ledger.support import make_ledger_env


@pytest.fixture
def env(database_url, tmp_path):
    made = make_ledger_env(database_url, tmp_path / "keys")
    yield made
    made.engine.dispose()
