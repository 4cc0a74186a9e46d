"""Least privilege on the real PostgreSQL: the role the services connect as can read and
append, and nothing else — no UPDATE, DELETE, TRUNCATE, no switching the triggers off, no
new tables, no writing to the registries or the signing keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from cli import app
from ledger.db import make_engine
from ledger.keys import load_signer
from ledger.store import Ledger, TransferSpec
from ledger.transparency import create_checkpoint
from ledger.verify import verify_ledger

FORBIDDEN = [
    ("UPDATE transfers SET memo = 'edited'", "permission denied"),
    ("DELETE FROM transfers", "permission denied"),
    ("TRUNCATE transfers", "permission denied"),
    ("SET session_replication_role = replica", "permission denied"),
    ("ALTER TABLE transfers DISABLE TRIGGER ALL", "must be owner"),
    ("CREATE TABLE shadow (id int)", "permission denied"),
    ("INSERT INTO signing_keys VALUES ('k', 'ed25519', 'ab', now(), NULL)", "permission denied"),
    ("INSERT INTO platforms VALUES ('evil', 'pem', 'f', now())", "permission denied"),
]


@pytest.fixture
def service(postgres_url, tmp_path):
    """`fairsplit init --grant-service-role` as the owner; the service role's URL."""
    role = f"fs_service_{uuid.uuid4().hex[:12]}"
    (tmp_path / "password").write_text("s3rvice-only\n")
    result = CliRunner().invoke(app, ["--database-url", postgres_url, "--key-dir", str(tmp_path / "keys"), "init",
                                      "--grant-service-role", role, "--service-role-password-file",
                                      str(tmp_path / "password")])
    assert result.exit_code == 0, result.output
    assert f"Role {role} may read every table and append to" in result.output
    url = make_url(postgres_url).set(username=role, password="s3rvice-only")
    yield url.render_as_string(hide_password=False), role
    owner = make_url(postgres_url).set(drivername="postgresql")
    with psycopg.connect(owner.render_as_string(hide_password=False), autocommit=True) as admin:
        admin.execute(f'DROP OWNED BY "{role}"')
        admin.execute(f'DROP ROLE "{role}"')


def test_the_service_role_appends_and_reads_and_can_do_nothing_else(service, tmp_path):
    url, role = service
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"))\
                .one() == (role, False)
        ledger = Ledger(engine, load_signer(str(tmp_path / "keys"), engine))
        ledger.append([TransferSpec("ev-1", "platform:acme", "artist:monet", 4000, "USD", "reward",
                                    datetime(2026, 11, 24, tzinfo=UTC))])  # a real append, as the service role
        create_checkpoint(engine, ledger.signer)
        assert verify_ledger(engine).ok and verify_ledger(engine).checked == 2  # the genesis key entry, the reward
        for statement, refusal in FORBIDDEN:
            with pytest.raises(DBAPIError, match=refusal), engine.begin() as connection:
                connection.exec_driver_sql(statement)
        with engine.connect() as connection:  # and nothing changed
            assert connection.execute(text("SELECT count(*), count(memo) FROM transfers")).one() == (2, 1)  # memo: genesis
    finally:
        engine.dispose()


def test_granting_is_refused_in_one_sentence_where_it_cannot_work(sqlite_url, tmp_path):
    result = CliRunner().invoke(app, ["--database-url", sqlite_url, "--key-dir", str(tmp_path / "keys"), "init",
                                      "--grant-service-role", "fairsplit_service"])
    assert result.exit_code == 2 and "SQLite has no roles" in result.output
