"""Which key may take which role: one key, one role, and each key trusted once.

A key that is (or was) the ledger's, a platform's or a service's cannot take another role,
or one holder could sign both an event and its result (or the ledger's entries); and a
platform or service key is registered once, for one holder, in the registry and in the
log's key history (`ledger.keys.entries`). The registry (`ledger.parties.registry`) asks before
every enrolment and registration, inside its transaction.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from ledger.keys.entries import read_trusted_keys
from ledger.books.schema import PLATFORM_KEYS, SERVICE_KEYS, SIGNING_KEYS


def key_roles(connection: Connection, key: str) -> list[str]:
    """Every role `key` holds or held: "ledger", "platform:<id>", a service role."""
    roles = ["ledger"] if connection.execute(select(SIGNING_KEYS.c.key_id).where(SIGNING_KEYS.c.key_id == key)).first() else []
    roles += [f"platform:{p}" for p in connection.execute(
        select(PLATFORM_KEYS.c.platform_id).where(PLATFORM_KEYS.c.key_id == key)).scalars()]
    return roles + list(connection.execute(select(SERVICE_KEYS.c.role).where(SERVICE_KEYS.c.key_id == key)).scalars())


def key_problem(connection: Connection, key: str, role: str) -> str | None:
    """Why `key` cannot be registered for `role` (a sentence), or None."""
    other = next((held for held in key_roles(connection, key) if held != role), None)
    if other is not None:
        return f"Key {key} already belongs to {other}; one key holds one role, so {role} needs its own key."
    for table in (PLATFORM_KEYS, SERVICE_KEYS):
        if connection.execute(select(table.c.key_id).where(table.c.key_id == key)).first() is not None:
            return f"Key {key} is already registered; each platform and service needs its own key."
    if key in read_trusted_keys(connection).keys:
        return f"Key {key} is already in the ledger's key history; use a new key."
    return None
