"""Payout fixtures: `env` is the one ledger fixture (tests/conftest.py) as a `PayoutEnv`."""

from __future__ import annotations

import pytest

from tests.payouts.support import PayoutEnv


@pytest.fixture
def ledger_env_class() -> type[PayoutEnv]:
    return PayoutEnv


@pytest.fixture
def env(ledger_env) -> PayoutEnv:
    return ledger_env
