"""Fixtures for the verifiable-ledger tests: `env` is the one ledger fixture (tests/conftest.py)
as an `Env`."""

from __future__ import annotations

import pytest

from tests.proofs.support import Env


@pytest.fixture
def ledger_env_class() -> type[Env]:
    return Env


@pytest.fixture
def env(ledger_env) -> Env:
    return ledger_env
