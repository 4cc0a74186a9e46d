"""Pipeline fixtures (the helpers are in tests/pipeline/support.py)."""

from __future__ import annotations

import uuid

import pytest

from tests.pipeline.support import make_pipeline


@pytest.fixture
def pipeline(migrated_postgres_url, tmp_path):
    made = make_pipeline(migrated_postgres_url, tmp_path)
    yield made
    made.stop_all()
    made.engine.dispose()


@pytest.fixture
def sqlite_pipeline(migrated_sqlite_url, tmp_path):
    made = make_pipeline(migrated_sqlite_url, tmp_path)
    yield made
    made.engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def any_pipeline(request, tmp_path):
    """A pipeline on each backend."""
    made = make_pipeline(request.getfixturevalue(f"migrated_{request.param}_url"), tmp_path)
    yield made
    made.stop_all()
    made.engine.dispose()


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}."
