"""`fairsplit init`: the schema at its newest revision and the ledger's signing key."""

from __future__ import annotations

import typer

from commands.common import settings_of, user_errors
from commands.options import AS_JSON
from commands.report import done
from ledger.db import head_revision, make_engine, upgrade_to_head
from ledger.keys import load_or_create_signer

app = typer.Typer()


@app.command()
def init(ctx: typer.Context, as_json: bool = AS_JSON) -> None:
    """Create or upgrade the ledger schema; create the signing key of a new ledger."""
    settings = settings_of(ctx)
    with user_errors():
        engine = make_engine(settings.database_url)
        before = upgrade_to_head(engine)
        signer, created = load_or_create_signer(settings.key_dir, engine)
    head = head_revision()
    schema = f"schema already at {head}" if before == head else f"schema upgraded from {before or 'nothing'} to {head}"
    key = f"signing key {signer.key_id} {'created and registered' if created else 'in use'} ({settings.key_dir})"
    done(as_json, {"schema_before": before, "schema": head, "key_id": signer.key_id, "key_created": created,
                   "key_dir": settings.key_dir}, f"Ledger ready: {schema}; {key}.")
