"""Migrations: one head, idempotent upgrades, the models match what the migration built."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import ledger.books.schema  # noqa: F401  (every table)
from ledger.books.db import (
    alembic_config,
    check_ready,
    head_revision,
    make_engine,
    sqlalchemy_url,
    upgrade_to_head,
)
from ledger.errors import NotInitialisedError


def test_revisions_form_one_chain_from_the_ledger_core():
    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_heads() == [head_revision()]
    assert script.get_base() == "0001_ledger_core"


def test_upgrade_is_idempotent_and_models_match(database_url):
    assert upgrade_to_head(database_url) is None
    assert upgrade_to_head(database_url) == head_revision()
    engine = make_engine(database_url)
    check_ready(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == []


def test_uninitialised_database_is_reported(database_url):
    with pytest.raises(NotInitialisedError, match="fairsplit init"):
        check_ready(make_engine(database_url))


def test_libpq_urls_use_psycopg():
    assert sqlalchemy_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert sqlalchemy_url("sqlite:///x.db") == "sqlite:///x.db"


def test_the_head_is_the_one_revision_nobody_builds_on_and_two_heads_are_refused(tmp_path, monkeypatch):
    import shutil

    import ledger.books.db as db

    shutil.copytree(db.MIGRATIONS_DIR / "versions", tmp_path / "versions")
    monkeypatch.setattr(db, "MIGRATIONS_DIR", tmp_path)
    head = head_revision()
    assert head == ScriptDirectory.from_config(alembic_config()).get_current_head()
    (tmp_path / "versions" / "9999_branch.py").write_text(
        'revision: str = "9999_branch"\ndown_revision: str | None = "0001_ledger_core"\n')
    with pytest.raises(RuntimeError, match=rf"have 2 heads \({head}, 9999_branch\), not one"):
        head_revision()
