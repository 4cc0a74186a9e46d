"""Command tests: `env` is the one ledger fixture (tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def env(ledger_env):
    return ledger_env
