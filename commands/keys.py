"""`fairsplit keys …`: the ledger's signing keys (publish, rotate) and the service keys an
operator enrols and revokes (never a key trusted because a command happened to create it)."""

from __future__ import annotations

from pathlib import Path

import typer

from commands.common import (id_column, open_ledger, out, print_json, ready_engine, say, settings_of, table, text_column,
                             user_errors, write_output)
from commands.options import AS_JSON
from ledger.crypto import generate_private_key, load_public_key, public_key_pem, read_private_key, write_private_key
from ledger.keys import load_signer
from ledger.registry import SERVICE_ROLES, enroll_service_key, revoke_service_key, service_key_history
from ledger.key_lifecycle import public_keyring, rotate_key

app = typer.Typer(help="Signing keys: the ledger's (publish, rotate) and the services' (enroll, list, revoke).",
                  no_args_is_help=True)


@app.command("public")
def public(
    ctx: typer.Context,
    out_file: str | None = typer.Option(None, "--out", help="Write the PEM file here (a new file) instead of stdout."),
    force: bool = typer.Option(False, "--force", help="Replace an existing file."),
) -> None:
    """The ledger's public keys (current and retired, with ids and validity): the file artists verify with."""
    with user_errors():
        text = public_keyring(open_ledger(ctx).engine).render()
    write_output(text, out_file, overwrite=force, what="the ledger's public keys")


@app.command("rotate")
def rotate(ctx: typer.Context) -> None:
    """Create a new ledger signing key and retire the current one (which must be at hand); old public keys stay."""
    with user_errors():
        engine = open_ledger(ctx).engine
        key_dir = settings_of(ctx).key_dir
        load_signer(key_dir, engine)  # rotating proves possession of the current key
        signer, retired = rotate_key(engine, key_dir)
    say(f"Signing key {signer.key_id} is now in use; retired {', '.join(retired) or 'none'}. "
        "Publish the new public keys file (`fairsplit keys public`).")


@app.command("enroll")
def enroll(
    ctx: typer.Context,
    role: str = typer.Argument(..., help=f"The service the key belongs to: {', '.join(SERVICE_ROLES)}."),
    public_key: Path | None = typer.Option(None, "--public-key", help="Enrol this public key (PEM) of a worker on another host, "
                                           "instead of the key in the key directory (created there if missing)."),
) -> None:
    """Trust a service's key: results it signs are booked from now on (an operator's explicit act)."""
    from services.attribution_worker import worker_key_path

    with user_errors():
        engine = ready_engine(ctx)
        created = None
        if public_key is not None:
            pem = public_key_pem(load_public_key(public_key)).decode()
        else:
            path = worker_key_path(settings_of(ctx).key_dir)
            if not path.exists():
                created = write_private_key(path, generate_private_key())
            pem = public_key_pem(read_private_key(path).public_key()).decode()
        key_id, new = enroll_service_key(open_ledger(ctx, signing=True), role, pem)
    made = f"created {created} and " if created else ""
    say(f"{made}{'enrolled' if new else 'already enrolled'} {role} key {key_id}.")


@app.command("list")
def list_keys(ctx: typer.Context, as_json: bool = AS_JSON) -> None:
    """Every key the ledger trusts or trusted: its signing keys and the enrolled service keys."""
    with user_errors():
        engine = ready_engine(ctx)
        ledger = public_keyring(engine).keys
        services = service_key_history(engine)
    rows = [{"key_id": k.key_id, "owner": "ledger", "holder": "ledger", "status": "retired" if k.retired_at else "active",
             "created_at": k.created_at and k.created_at.isoformat(), "ended_at": k.retired_at and k.retired_at.isoformat(),
             "reason": None} for k in ledger]
    rows += [{"key_id": k.key_id, "owner": "service", "holder": k.holder, "status": "active" if k.active else "revoked",
              "created_at": k.created_at.isoformat(), "ended_at": k.revoked_at and k.revoked_at.isoformat(),
              "reason": k.reason} for k in services]
    if as_json:
        print_json(rows)
        return
    out.print(table("Keys", [id_column("key id"), "holder", text_column("status", keep=True), text_column("since", drop=2),
                             text_column("reason", drop=1)],
                    [(r["key_id"], r["holder"], r["status"], (r["ended_at"] or r["created_at"] or "")[:19], r["reason"] or "")
                     for r in rows]))


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    key_id: str = typer.Argument(..., help="The enrolled service key to stop trusting (see `fairsplit keys list`)."),
    reason: str = typer.Option(..., "--reason", help="Why (kept with the revocation)."),
) -> None:
    """Stop trusting a service key: results it signs are refused from now on; what it signed before stays booked."""
    with user_errors():
        key = revoke_service_key(open_ledger(ctx, signing=True), key_id, reason)
    say(f"Revoked {key.holder} key {key.key_id}; results it signs are refused from now on.")

