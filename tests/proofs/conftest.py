"""Fixtures for the verifiable-ledger tests: a migrated ledger with a key, on both backends."""

from __future__ import annotations

import pytest

from tests.proofs.support import Env, make_env


@pytest.fixture
def env(database_url, tmp_path) -> Env:
    environment = make_env(database_url, tmp_path / "keys")
    yield environment
    environment.engine.dispose()
