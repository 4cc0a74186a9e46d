"""`fairsplit init` as one ledger operation: the schema at its newest revision, the
ledger's signing key (created only for a ledger that has none), its key history anchored in
the log, the rewards booked before evidence-bound rewards recorded as legacy, and — on
PostgreSQL, when asked — the services' role granted. Each step is idempotent, so running
it again on a ready ledger changes nothing and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from ledger.books.db import head_revision, upgrade_to_head
from ledger.keys.entries import upgrade_specs
from ledger.keys.lifecycle import init_key_history
from ledger.keys.signing import Signer, load_or_create_signer
from ledger.books.roles import grant_service_role
from ledger.books.store import Ledger


@dataclass(frozen=True)
class Initialised:
    schema_before: str | None  # None: a new database
    schema: str
    signer: Signer
    key_created: bool
    key_history: str | None  # what was anchored now: "genesis", "adopt", or None
    evidence_start: bool  # the rewards so far were recorded as legacy now
    appendable: list[str] | None  # the tables the service role may append to (None: no role asked for)


def initialise(engine: Engine, key_dir: str | Path, origin: str | None = None, service_role: str | None = None,
               service_role_password: str | None = None) -> Initialised:
    """Make the ledger at `engine` ready (module docstring); run as the schema's owner."""
    before = upgrade_to_head(engine)
    signer, created = load_or_create_signer(key_dir, engine)
    anchored = init_key_history(engine, signer, key_dir, origin)
    legacy = Ledger(engine, signer, str(key_dir)).append_decided(upgrade_specs)  # rewards before evidence
    appendable = (grant_service_role(engine, service_role, service_role_password)
                  if service_role is not None else None)
    return Initialised(before, head_revision(), signer, created, anchored, bool(legacy), appendable)
