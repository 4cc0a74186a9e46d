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
from ledger.books.db import make_engine
from ledger.keys.signing import load_signer
from ledger.books.store import Ledger
from ledger.transparency.tree import create_checkpoint
from ledger.audit.chain import verify_ledger
from services.signed_rewards import enrol, reward

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


def test_the_service_role_appends_and_reads_and_can_do_nothing_else(service, postgres_url, tmp_path):
    url, role = service
    keys = str(tmp_path / "keys")
    owner = make_engine(postgres_url)
    try:  # registrations are the operator's (the service role may not write the key tables)
        signers = enrol(Ledger(owner, load_signer(keys, owner), keys))
    finally:
        owner.dispose()
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"))\
                .one() == (role, False)
        ledger = Ledger(engine, load_signer(keys, engine), keys)
        assert reward(ledger, signers, "0b6f3c1e-2a4d-4e5f-8a9b-1c2d3e4f5a6b", {"artist:monet": 1.0}, 10_000,
                      when=datetime(2026, 11, 24, tzinfo=UTC)) == "recorded"  # a real booking, evidence included
        create_checkpoint(engine, ledger.signer)
        report = verify_ledger(engine)
        assert report.ok and report.checked >= 4, report  # the key entries, then the reward
        for statement, refusal in FORBIDDEN:
            with pytest.raises(DBAPIError, match=refusal), engine.begin() as connection:
                connection.exec_driver_sql(statement)
        with engine.connect() as connection:  # and nothing changed
            assert connection.execute(text("SELECT count(*) FROM transfers WHERE memo IS DISTINCT FROM 'edited'"))\
                .scalar() == report.checked
    finally:
        engine.dispose()


def test_granting_is_refused_in_one_sentence_where_it_cannot_work(sqlite_url, tmp_path):
    result = CliRunner().invoke(app, ["--database-url", sqlite_url, "--key-dir", str(tmp_path / "keys"), "init",
                                      "--grant-service-role", "fairsplit_service"])
    assert result.exit_code == 2 and "SQLite has no roles" in result.output
