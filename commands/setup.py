"""`fairsplit init`: the schema at its newest revision and the ledger's signing key."""

from __future__ import annotations

import typer

from commands.common import say, settings_of, user_errors
from ledger.db import head_revision, make_engine, upgrade_to_head
from ledger.key_lifecycle import init_key_history
from ledger.keys import load_or_create_signer

app = typer.Typer()


@app.command()
def init(ctx: typer.Context) -> None:
    """Create or upgrade the ledger schema; create the signing key of a new ledger and anchor its key history in the log."""
    settings = settings_of(ctx)
    with user_errors():
        engine = make_engine(settings.database_url)
        before = upgrade_to_head(engine)
        signer, created = load_or_create_signer(settings.key_dir, engine)
        anchored = init_key_history(engine, signer, settings.key_dir, settings.ledger_origin or None)
    head = head_revision()
    schema = f"schema already at {head}" if before == head else f"schema upgraded from {before or 'nothing'} to {head}"
    key = f"signing key {signer.key_id} {'created and registered' if created else 'in use'} ({settings.key_dir})"
    history = {"genesis": "; the key's genesis entry opens the log",
               "adopt": "; the earlier key rotations are now recorded in the log"}.get(anchored or "", "")
    say(f"Ledger ready: {schema}; {key}{history}.")
