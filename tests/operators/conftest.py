"""Operator-facing command tests: a migrated ledger with a signing key, on both backends,
and the CLI invoked the way a user types it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli import app
from tests.ledger.support import make_ledger_env
from tests.pipeline.conftest import any_pipeline  # noqa: F401 - the pipeline on SQLite and PostgreSQL


@pytest.fixture
def env(database_url, tmp_path):
    made = make_ledger_env(database_url, tmp_path / "keys")
    yield made
    made.engine.dispose()


@pytest.fixture
def cli(env):
    runner = CliRunner()
    base = ["--database-url", env.url, "--key-dir", env.key_dir]

    def invoke(*args: str, **kwargs):
        return runner.invoke(app, [*base, *args], **kwargs)

    return invoke


@pytest.fixture
def sqlite_pipeline(sqlite_url, tmp_path):
    from tests.pipeline.support import make_pipeline

    made = make_pipeline(sqlite_url, tmp_path)
    yield made
    made.engine.dispose()
