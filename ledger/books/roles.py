"""Least privilege on PostgreSQL: the role the services connect as.

The schema's owner runs the migrations (`fairsplit init`) and the operators' commands
(registering platforms, enrolling keys, rotating the ledger key). The services — the
attribution worker and the ledger writer — connect as a separate role that
`grant_service_role` creates (if missing) and grants exactly this:

- SELECT on every table of the schema (the ledger, the registries, `alembic_version`);
- INSERT on every table except the registries and keys that only operators write
  (`OPERATOR_TABLES`): a service appends transfers, events, Merkle nodes, checkpoints
  and cosignatures, but never registers a platform, a worker or a signing key;
- USAGE on the schema and its sequences; nothing else.

So a service's role is not a superuser, owns nothing and has no UPDATE, DELETE or
TRUNCATE privilege: it cannot edit a row (the append-only triggers are the second
line), cannot `SET session_replication_role = replica` (superusers only), cannot
`ALTER TABLE … DISABLE TRIGGER` (owners only) and cannot create tables (CREATE on the
schema is revoked from PUBLIC). Granting runs every time `init` runs, so tables added
by later migrations are covered. SQLite has no roles: there this is refused.

The portal's role (`portal_role_statements`, for `fairsplit portal grants`) is narrower:
SELECT on every table (and, by default privileges, on the tables later migrations add),
USAGE on the schema and CONNECT on the database — no INSERT, UPDATE, DELETE, TRUNCATE,
CREATE or sequence use — and its sessions default to read-only transactions, a second lock
that does not replace the first. The portal's own tables (login-token hashes, revocations)
are written by the CLI under the owner's role, never by the portal. Both roles' names and
passwords follow one rule (`_check_role`, `_quoted`).
"""

from __future__ import annotations

import re

from sqlalchemy import Engine, inspect, text

from ledger.errors import LedgerError

#: Tables written only by operators' commands (as the owner): a service may read them.
OPERATOR_TABLES = frozenset({"signing_keys", "platforms", "platform_keys", "key_revocations", "service_keys",
                             "artists", "artist_works", "alembic_version"})
_ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class RoleError(LedgerError, ValueError):
    """The service role cannot be created or granted; one sentence."""


def _quoted(password: str) -> str:
    """A PostgreSQL string literal (standard_conforming_strings: only ' is special)."""
    if "\x00" in password or not 8 <= len(password) <= 200 or password != password.strip():
        raise RoleError("A role's password must be 8-200 characters, no NUL, no surrounding spaces.")
    return "'" + password.replace("'", "''") + "'"


def _check_role(role: str) -> None:
    if not _ROLE.fullmatch(role):
        raise RoleError(f"The role name {role!r} must be 1-63 characters of a-z, 0-9 or '_', not starting with a digit.")


def portal_role_statements(role: str, password: str | None = None) -> list[str]:
    """The SQL an owner runs once to create (if needed) and confine the portal's role."""
    _check_role(role)
    statements = [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN CREATE ROLE {role} LOGIN; "
        "END IF; END $$",
        f"ALTER ROLE {role} NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS LOGIN",
    ]
    if password is not None:
        statements.append(f"ALTER ROLE {role} PASSWORD {_quoted(password)}")
    return statements + [
        f"ALTER ROLE {role} SET default_transaction_read_only = on",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}",
        f"REVOKE CREATE ON SCHEMA public FROM {role}",
        f"DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO {role}', current_database()); END $$",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {role}",
    ]


def grant_service_role(engine: Engine, role: str, password: str | None = None) -> list[str]:
    """Create `role` if it does not exist (LOGIN, nothing else), set its password when one
    is given, and grant it SELECT on every table and INSERT on every non-operator table;
    returns the tables it may append to."""
    if engine.dialect.name != "postgresql":
        raise RoleError("A service role needs PostgreSQL; SQLite has no roles (its file's permissions are the bound).")
    _check_role(role)
    tables = sorted(inspect(engine).get_table_names())
    appendable = [t for t in tables if t not in OPERATOR_TABLES]
    with engine.begin() as connection:
        owner = connection.execute(text("SELECT current_user")).scalar()
        if owner == role:
            raise RoleError(f"The service role {role!r} must not be the owner that runs the migrations.")
        exists = connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
        if exists is None:
            connection.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION')
        else:
            superuser = connection.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar()
            if superuser:
                raise RoleError(f"Role {role!r} is a superuser; the services need a role without privileges of its own.")
        if password is not None:
            connection.exec_driver_sql(f'ALTER ROLE "{role}" PASSWORD {_quoted(password)}')
        connection.exec_driver_sql("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        connection.exec_driver_sql(f'GRANT USAGE ON SCHEMA public TO "{role}"')
        connection.exec_driver_sql(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{role}"')
        connection.exec_driver_sql(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"')
        for table in appendable:
            connection.exec_driver_sql(f'GRANT INSERT ON TABLE "{table}" TO "{role}"')
        connection.exec_driver_sql(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
    return appendable
