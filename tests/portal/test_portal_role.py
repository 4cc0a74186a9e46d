"""The portal's PostgreSQL role (`fairsplit portal grants`) can SELECT and nothing else —
checked on the real server — and the portal serves every page through it."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from sqlalchemy import make_url
from typer.testing import CliRunner

from cli import app as cli_app
from services.portal.app import PortalConfig, create_app, read_only_engine
from tests.portal.conftest import Served
from tests.portal.http import login, request

pytestmark = pytest.mark.postgres

WRITES = (
    "INSERT INTO transfers (seq) VALUES (999999)",
    "UPDATE transfers SET amount = amount + 1",
    "DELETE FROM transfers",
    "INSERT INTO portal_tokens (token_hash, artist_id, created_at, expires_at) VALUES ('x', 'monet', now(), now() + interval '1 day')",
    "INSERT INTO portal_revocations (artist_id, revoked_at) VALUES ('monet', now())",
    "DELETE FROM portal_tokens",
    "UPDATE checkpoints SET note = ''",
    "TRUNCATE merkle_nodes",
    "CREATE TABLE sessions (id text)",
)


@pytest.fixture
def portal_role(postgres_url, tmp_path):
    """The role made by `fairsplit portal grants --apply` on a fresh ledger; dropped afterwards."""
    from tests.portal.support import make_access_env

    env = make_access_env(postgres_url, tmp_path / "keys")
    role = f"portal_{uuid.uuid4().hex[:10]}"
    result = CliRunner().invoke(cli_app, ["--database-url", postgres_url, "portal", "grants", "--role", role,
                                          "--password", "portal-test-password", "--apply"])
    assert result.exit_code == 0, result.output
    url = make_url(postgres_url).set(username=role, password="portal-test-password")
    yield env, url.render_as_string(hide_password=False), role
    env.engine.dispose()
    admin = make_url(postgres_url).set(database="postgres")
    with psycopg.connect(admin.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True) as db:
        db.execute(f'REVOKE ALL ON DATABASE "{make_url(postgres_url).database}" FROM {role}')
    with psycopg.connect(make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False),
                         autocommit=True) as db:
        db.execute(f"DROP OWNED BY {role}")
        db.execute(f"DROP ROLE {role}")


def test_the_portal_role_can_only_select(portal_role):
    env, url, role = portal_role
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as db:
        assert db.execute("SELECT count(*) FROM transfers").fetchone()[0] == 15  # 3 key entries, 2 artists x 3 events x 2 payees
        assert db.execute("SELECT count(*) FROM portal_tokens").fetchone()[0] == 0
        db.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE")  # the grants alone must refuse
        for statement in WRITES:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db.execute(statement)
        privileges = db.execute(
            "SELECT DISTINCT privilege_type FROM information_schema.role_table_grants WHERE grantee = %s", (role,)
        ).fetchall()
        assert {p for (p,) in privileges} == {"SELECT"}
        attributes = db.execute("SELECT rolsuper, rolcreatedb, rolcreaterole, rolbypassrls FROM pg_roles "
                                "WHERE rolname = %s", (role,)).fetchone()
        assert attributes == (False, False, False, False)
    with psycopg.connect(libpq) as db:  # by default its transactions are read-only too
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            db.execute("INSERT INTO portal_revocations (artist_id, revoked_at) VALUES ('monet', now())")


def test_the_portal_serves_every_page_through_the_select_only_role(portal_role):
    env, url, _ = portal_role
    link = CliRunner().invoke(cli_app, ["--database-url", env.url, "portal", "token", "monet"]).output.split()[-1]
    engine = read_only_engine(url)
    with Served(create_app(engine, PortalConfig())) as served:
        session = login(served.url, link)
        for path in ("/", "/history", "/payouts", "/statements", "/proof", "/bundle.json", "/keys.pem",
                     "/statements/2026-11/USD.json"):
            answer = request(served.url + path, session)
            assert answer.status == 200, (path, answer.body[:300])
        assert "1.212" in request(served.url + "/", session).body
    engine.dispose()


def test_grants_prints_the_sql_and_refuses_odd_role_names():
    result = CliRunner().invoke(cli_app, ["portal", "grants", "--role", "fairsplit_portal"])
    assert result.exit_code == 0
    assert "GRANT SELECT ON ALL TABLES IN SCHEMA public TO fairsplit_portal;" in result.output
    assert "INSERT" not in result.output and "UPDATE" not in result.output
    bad = CliRunner().invoke(cli_app, ["portal", "grants", "--role", "x; DROP TABLE transfers"])
    assert bad.exit_code == 2 and "role name" in bad.output
