"""The portal's PostgreSQL role: it may read the ledger and do nothing else.

`grant_statements(role)` is the SQL an owner runs once (`fairsplit portal grants`, which
prints it or, with --apply, runs it): a LOGIN role with SELECT on every table of the
schema (and on the tables later migrations add, by default privileges), USAGE on the
schema and CONNECT on the database — no INSERT, UPDATE, DELETE, TRUNCATE, CREATE or
sequence use. Its sessions also default to read-only transactions, a second lock that
does not replace the first (a session could turn it off; the grants it cannot).
The portal's own tables (login-token hashes, revocations) are written by the CLI under
the owner's role, never by the portal.
"""

from __future__ import annotations

import re

ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def grant_statements(role: str, password: str | None = None) -> list[str]:
    """SQL statements that create (if needed) and confine the portal's role."""
    if not ROLE.fullmatch(role):
        raise ValueError("The role name must be 1-63 lower-case letters, digits or _ (not starting with a digit).")
    statements = [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN CREATE ROLE {role} LOGIN; "
        "END IF; END $$",
        f"ALTER ROLE {role} NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS LOGIN",
    ]
    if password is not None:
        if "\x00" in password or not 8 <= len(password) <= 200:
            raise ValueError("The role's password must be 8 to 200 characters.")
        quoted = password.replace("'", "''")
        statements.append(f"ALTER ROLE {role} PASSWORD '{quoted}'")
    statements += [
        f"ALTER ROLE {role} SET default_transaction_read_only = on",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}",
        f"REVOKE CREATE ON SCHEMA public FROM {role}",
        f"DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO {role}', current_database()); END $$",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {role}",
    ]
    return statements
