"""`fairsplit init`: the schema at its newest revision and the ledger's signing key."""

from __future__ import annotations

from pathlib import Path

import typer

from commands.common import fail, read_input, say, settings_of, user_errors
from commands.options import AS_JSON
from commands.report import done
from ledger.books.db import make_engine
from ledger.initialise import initialise

app = typer.Typer()


@app.command()
def init(
    ctx: typer.Context,
    grant_service_role: str | None = typer.Option(
        None, "--grant-service-role", metavar="ROLE",
        help="PostgreSQL: create ROLE if missing and let it only SELECT and append (INSERT), for the services."),
    service_role_password_file: Path | None = typer.Option(
        None, "--service-role-password-file", help="Set the service role's password from this file (a secret)."),
    as_json: bool = AS_JSON,
) -> None:
    """Create or upgrade the ledger schema; create the signing key of a new ledger and anchor its key history in the
    log (run as the schema's owner)."""
    settings = settings_of(ctx)
    password = None
    if service_role_password_file is not None:
        if grant_service_role is None:
            fail("--service-role-password-file needs --grant-service-role.")
        password = read_input(service_role_password_file, "password file", 4096).decode("utf-8", "replace").strip()
    with user_errors():
        ready = initialise(make_engine(settings.database_url), settings.key_dir, settings.ledger_origin or None,
                           grant_service_role, password)
    if ready.appendable is not None and not as_json:
        say(f"Role {grant_service_role} may read every table and append to {len(ready.appendable)}; nothing else.")
    before, head, key_id = ready.schema_before, ready.schema, ready.signer.key_id
    schema = f"schema already at {head}" if before == head else f"schema upgraded from {before or 'nothing'} to {head}"
    key = f"signing key {key_id} {'created and registered' if ready.key_created else 'in use'} ({settings.key_dir})"
    history = {"genesis": "; the key's genesis entry opens the log",
               "adopt": "; the earlier key rotations are now recorded in the log"}.get(ready.key_history or "", "")
    if ready.evidence_start:
        history += "; the rewards so far are recorded as legacy (from before evidence-bound rewards)"
    done(as_json, {"schema_before": before, "schema": head, "key_id": key_id, "key_created": ready.key_created,
                   "key_dir": settings.key_dir, "key_history": ready.key_history, "evidence_start": ready.evidence_start},
         f"Ledger ready: {schema}; {key}{history}.")
