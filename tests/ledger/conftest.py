"""Ledger fixtures: `env` is the one ledger fixture (a migrated database with a signing key,
on both backends; tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.ledger.support import LedgerEnv


@pytest.fixture
def env(ledger_env) -> LedgerEnv:
    return ledger_env
