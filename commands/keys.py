"""`fairsplit keys …`: the ledger's signing keys (publish, rotate) and the service keys an
operator enrols and revokes (never a key trusted because a command happened to create it)."""

from __future__ import annotations

from pathlib import Path

import typer

from commands.common import (fail, id_column, open_ledger, out, print_json, ready_engine, settings_of, table, text_column,
                             user_errors, write_output)
from commands.options import AS_JSON
from commands.report import done
from ledger.crypto import generate_private_key, load_public_key, public_key_pem, read_private_key, write_private_key
from ledger.parties.registry import SERVICE_ROLES, enroll_service_key, revoke_service_key, service_key_history
from ledger.keys.lifecycle import public_keyring, rotate_key

app = typer.Typer(help="Signing keys: the ledger's (publish, rotate) and the services' (enroll, list, revoke).",
                  no_args_is_help=True)


@app.command("public")
def public(
    ctx: typer.Context,
    out_file: str | None = typer.Option(None, "--out", help="Write the PEM file here (a new file) instead of stdout."),
    force: bool = typer.Option(False, "--force", help="Replace an existing file."),
    fmt: str = typer.Option("pem", "--format", help="pem: every key with its seq range (for verify-proof and "
                            "witnesses); vkey: the current key's C2SP/sumdb note verifier key (for Go and C2SP tools)."),
) -> None:
    """The ledger's public keys (every key of the log's key history with its seq range): the file artists verify with."""
    if fmt not in ("pem", "vkey"):
        fail(f"--format {fmt!r} is not one of pem, vkey.")
    with user_errors():
        keyring = public_keyring(open_ledger(ctx).engine)
        text = keyring.render() if fmt == "pem" else keyring.vkey() + "\n"
    write_output(text, out_file, overwrite=force,
                 what="the ledger's public keys" if fmt == "pem" else "the ledger's note verifier key")


@app.command("rotate")
def rotate(ctx: typer.Context, as_json: bool = AS_JSON) -> None:
    """Rotate the ledger key: a log entry signed by the current key (which must be at hand) names the new one;
    the retired private key moves to KEY_DIR/retired/."""
    with user_errors():
        engine = open_ledger(ctx).engine
        settings = settings_of(ctx)
        signer, retired = rotate_key(engine, settings.key_dir, settings.ledger_origin or None)
    done(as_json, {"key_id": signer.key_id, "retired": list(retired),
                   "retired_key_dir": f"{settings.key_dir}/retired"},
         f"Signing key {signer.key_id} is now in use; retired {', '.join(retired) or 'none'} (its private key is now in "
         f"{settings.key_dir}/retired/: keep it offline or destroy it). "
         "Publish the new public keys file (`fairsplit keys public`) to artists and witnesses.")


@app.command("enroll")
def enroll(
    ctx: typer.Context,
    role: str = typer.Argument(..., help=f"The service the key belongs to: {', '.join(SERVICE_ROLES)}."),
    public_key: Path | None = typer.Option(None, "--public-key", help="Enrol this public key (PEM) of a worker on another host, "
                                           "instead of the key in the key directory (created there if missing)."),
    as_json: bool = AS_JSON,
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
    done(as_json, {"role": role, "key_id": key_id, "enrolled": new, "created_key_file": str(created) if created else None},
         f"{made}{'enrolled' if new else 'already enrolled'} {role} key {key_id}.")


@app.command("list")
def list_keys(ctx: typer.Context, as_json: bool = AS_JSON) -> None:
    """Every key the ledger trusts or trusted: its signing keys and the enrolled service keys."""
    with user_errors():
        engine = ready_engine(ctx)
        ledger = public_keyring(engine).keys
        services = service_key_history(engine)
    rows = [{"key_id": k.key_id, "owner": "ledger", "holder": "ledger",
             "status": "retired" if k.last_seq is not None else "active", "created_at": None, "ended_at": None,
             "first_seq": k.first_seq, "last_seq": k.last_seq,
             "reason": f"signs seqs {k.first_seq}-{k.last_seq if k.last_seq is not None else ''}"} for k in ledger]
    rows += [{"key_id": k.key_id, "owner": "service", "holder": k.holder, "status": "active" if k.active else "revoked",
              "created_at": k.created_at.isoformat(), "ended_at": k.revoked_at and k.revoked_at.isoformat(),
              "reason": k.reason} for k in services]
    if as_json:
        print_json(rows)
        return
    # Ids, holders and times are never split across lines (at 80 columns the reason wraps, then goes).
    out.print(table("Keys", [id_column("key id"), text_column("holder", keep=True), text_column("status", keep=True),
                             text_column("since (UTC)", drop=2, keep=True), text_column("reason", drop=1)],
                    [(r["key_id"], r["holder"], r["status"], (r["ended_at"] or r["created_at"] or "")[:16].replace("T", " "),
                      r["reason"] or "") for r in rows]))


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    key_id: str = typer.Argument(..., help="The enrolled service key to stop trusting (see `fairsplit keys list`)."),
    reason: str = typer.Option(..., "--reason", help="Why (kept with the revocation)."),
    as_json: bool = AS_JSON,
) -> None:
    """Stop trusting a service key: results it signs are refused from now on; what it signed before stays booked."""
    with user_errors():
        key = revoke_service_key(open_ledger(ctx, signing=True), key_id, reason)
    done(as_json, {"role": key.holder, "key_id": key.key_id, "reason": reason},
         f"Revoked {key.holder} key {key.key_id}; results it signs are refused from now on.")

