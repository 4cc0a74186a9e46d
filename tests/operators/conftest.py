"""Operator-facing command tests: the one ledger fixture (`env`, tests/conftest.py) and the CLI
invoked the way a user types it; the pipelines are tests/pipeline's."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli import app
from tests.pipeline.conftest import any_pipeline, sqlite_pipeline  # noqa: F401 - the pipelines on a migrated ledger


@pytest.fixture
def env(ledger_env):
    return ledger_env


@pytest.fixture
def cli(env):
    runner = CliRunner()
    base = ["--database-url", env.url, "--key-dir", env.key_dir]

    def invoke(*args: str, **kwargs):
        return runner.invoke(app, [*base, *args], **kwargs)

    return invoke
