"""`fairsplit platforms …`: register platforms and manage the keys their events are signed with."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from commands.common import fail, id_column, open_ledger, out, print_json, ready_engine, table, text_column, user_errors
from commands.options import AS_JSON
from commands.report import done
from ledger.crypto import generate_private_key, load_public_key, public_key_pem, write_private_key
from ledger.parties.registry import add_platform, platform_key_history, revoke_platform_keys, rotate_platform_key

app = typer.Typer(help="Register platforms and the keys their events are signed with.", no_args_is_help=True)

KEY_OUT = typer.Option(None, "--key-out", help="Where to write the new private key (a new file, 0600; default ./ID.platform.pem).")
PUBLIC_KEY = typer.Option(None, "--public-key", help="Register this existing Ed25519 public key (PEM) instead.")


@contextmanager
def _platform_key(platform_id: str, key_out: Path | None, public_key: Path | None) -> Iterator[tuple[str, Path | None]]:
    """(public PEM, path of a new private key file or None): a key the platform holds. A new
    key file is written first (never register a key nobody holds) and removed again if the
    registration fails (leave no key behind for nothing)."""
    if public_key is not None:
        if key_out is not None:
            fail("give either --public-key or --key-out, not both.")
        yield public_key_pem(load_public_key(public_key)).decode(), None
        return
    private = generate_private_key()
    target = key_out or Path(f"./{platform_id}.platform.pem")
    if os.path.lexists(target):
        fail(f"{target} already exists and a key file is never overwritten; choose a new file with --key-out.")
    path = write_private_key(target, private)
    try:
        yield public_key_pem(private.public_key()).decode(), path
    except BaseException:
        path.unlink()
        raise


@app.command("add")
def add(
    ctx: typer.Context,
    platform_id: str = typer.Argument(..., help="The platform's id (account platform:<id>)."),
    key_out: Path | None = KEY_OUT,
    public_key: Path | None = PUBLIC_KEY,
    as_json: bool = AS_JSON,
) -> None:
    """Register a platform with the Ed25519 key its events must be signed with."""
    with user_errors():
        ledger = open_ledger(ctx, signing=True)  # the registration is a log entry
        with _platform_key(platform_id, key_out, public_key) as (pem, path):
            add_platform(ledger, platform_id, pem)
    where = f"with the public key in {public_key}" if path is None else f"its private key (keep it secret) is in {path}"
    done(as_json, {"platform_id": platform_id, "account": f"platform:{platform_id}",
                   "private_key_file": str(path) if path else None}, f"platform:{platform_id} registered; {where}.")


@app.command("rotate-key")
def rotate_key(
    ctx: typer.Context,
    platform_id: str = typer.Argument(..., help="The platform whose key is replaced."),
    key_out: Path | None = KEY_OUT,
    public_key: Path | None = PUBLIC_KEY,
    as_json: bool = AS_JSON,
) -> None:
    """Give a platform a new key and revoke its old ones: events signed with an old key are refused from now on."""
    with user_errors():
        ledger = open_ledger(ctx, signing=True)
        with _platform_key(platform_id, key_out, public_key) as (pem, path):
            new_id, revoked = rotate_platform_key(ledger, platform_id, pem)
    where = "" if path is None else f"; its private key is in {path}"
    done(as_json, {"platform_id": platform_id, "key_id": new_id, "revoked": list(revoked),
                   "private_key_file": str(path) if path else None},
         f"platform:{platform_id} now signs with key {new_id}; revoked {', '.join(revoked) or 'none'}{where}.")


@app.command("revoke-key")
def revoke_key(
    ctx: typer.Context,
    platform_id: str = typer.Argument(..., help="The platform whose key leaked or is retired."),
    reason: str = typer.Option(..., "--reason", help="Why (kept with the revocation)."),
    key_id: str | None = typer.Option(None, "--key-id", help="Only this key (default: every active key of the platform)."),
    as_json: bool = AS_JSON,
) -> None:
    """Stop accepting events signed by a platform's key; until `rotate-key`, its events are refused."""
    with user_errors():
        revoked = revoke_platform_keys(open_ledger(ctx, signing=True), platform_id, reason, key_id)
    done(as_json, {"platform_id": platform_id, "revoked": list(revoked), "reason": reason},
         f"Revoked {', '.join(revoked)} of platform:{platform_id}; its events are refused until it has a new key "
         f"(`fairsplit platforms rotate-key {platform_id}`).")


@app.command("list")
def list_platforms(ctx: typer.Context, as_json: bool = AS_JSON) -> None:
    """The registered platforms and every key they have signed with (active or revoked)."""
    with user_errors():
        keys = platform_key_history(ready_engine(ctx))
    rows = [{"platform_id": k.holder, "account": f"platform:{k.holder}", "key_id": k.key_id,
             "status": "active" if k.active else "revoked", "created_at": k.created_at.isoformat(),
             "revoked_at": k.revoked_at and k.revoked_at.isoformat(), "reason": k.reason} for k in keys]
    if as_json:
        print_json(rows)
        return
    out.print(table("Platforms and their keys", [id_column("account"), id_column("key id"), text_column("status", keep=True),
                                                 text_column("since", drop=2), text_column("reason", drop=1)],
                    [(r["account"], r["key_id"], r["status"], (r["revoked_at"] or r["created_at"])[:19], r["reason"] or "")
                     for r in rows]))
