"""`fairsplit statements …`: export a closed period's signed statements; check them offline."""

from __future__ import annotations

from pathlib import Path

import typer

from commands.common import err, fail, open_ledger, print_json, say, settings_of, user_errors
from commands.options import AS_JSON, setting
from commands.report import done
from ledger.books.accounts import resolve_account
from commands.keyfiles import read_keyring
from ledger.keys.lifecycle import manifest_context
from ledger.statements.manifest import manifest_key, read_manifest, verify_manifest
from ledger.money import format_amount
from ledger.payouts.periods import parse_period
from ledger.statements.export import export_statements
from ledger.statements.files import FORMATS

app = typer.Typer(help="Export and check signed period statements.", no_args_is_help=True)


@app.command("export")
def export(
    ctx: typer.Context,
    period: str = typer.Argument(..., help="A closed period, e.g. 2026-11."),
    fmt: str = typer.Option(..., "--format", help="csv, json or pdf (comma-separated for several)."),
    out_dir: Path = typer.Option(..., "--out", help="A new (or empty) folder to write the files and manifest.json into."),
    account: list[str] = typer.Option(None, "--account", help="Only this payee (repeatable); default: all."),
    currency: str | None = setting("currency"),
    as_json: bool = AS_JSON,
) -> None:
    """Write per-payee statements and the finance summary, with a signed manifest.json."""
    formats = [part.strip().lower() for part in fmt.split(",") if part.strip()]
    if not formats or any(part not in FORMATS for part in formats):
        fail(f"Format {fmt!r} is not one of {', '.join(FORMATS)}.")
    with user_errors():
        target = parse_period(period)
        cur = settings_of(ctx).merge(currency=currency).currency.strip().upper()
        accounts = [resolve_account(a) for a in account] if account else None
        _not_over_yet(target)
        ledger = open_ledger(ctx, signing=True)
        summary, manifest, files = export_statements(ledger.engine, ledger.signer, target, cur, formats,
                                                     out_dir, accounts)
    done(as_json, {"period": target.id, "currency": cur, "folder": str(out_dir), "payees": summary.payees,
                   "payouts": format_amount(summary.payouts.total, cur),
                   "ledger_payouts": format_amount(summary.ledger_payouts, cur),
                   "files": [str(f) for f in files], "manifest": str(manifest), "key_id": ledger.signer.key_id},
         f"Exported {summary.payees} statements for {target.id} ({cur}) to {out_dir}: payouts "
         f"{format_amount(summary.payouts.total, cur)} = ledger {format_amount(summary.ledger_payouts, cur)}; "
         f"{len(files)} files and {manifest.name} signed by key {ledger.signer.key_id}.")


@app.command("verify")
def verify(
    ctx: typer.Context,
    directory: Path = typer.Argument(..., help="A folder written by `statements export`."),
    public_key: Path | None = typer.Option(None, "--public-key", help="The ledger's public keys file (`fairsplit keys public`): "
                                           "check offline, without the ledger database."),
    as_json: bool = AS_JSON,
) -> None:
    """Check manifest.json's signature and every file's SHA-256, and that the folder holds nothing else."""
    if not directory.is_dir():
        fail(f"{directory} is not a folder.")
    if public_key is None:
        with user_errors():
            _offline_hint(ctx)
    try:
        manifest = read_manifest(directory)
    except ValueError as exc:
        fail(str(exc))
    key_id = manifest["key_id"]
    if public_key is not None:
        history, close_through = read_keyring(public_key).history(), None
    else:
        with user_errors():
            history, close_through = manifest_context(open_ledger(ctx).engine, manifest)
    try:
        key = manifest_key(manifest, history, close_through)
        problems = verify_manifest(directory, key)
    except ValueError as exc:
        problems = [str(exc)]
    if as_json:
        print_json({"intact": not problems, "problems": problems, "key_id": key_id,
                    "log_size": manifest.get("log_size"), "files": len(manifest["files"])})
    else:
        for problem in problems:
            say(f"bad: {problem}", "bold red", to=err)
    if problems:
        raise typer.Exit(1)
    if not as_json:
        say(f"Manifest intact: signature by {key_id} (current at log size {manifest['log_size']}) verifies, "
            f"{len(manifest['files'])} files match and nothing else is there.")


def _offline_hint(ctx: typer.Context) -> None:
    """Without --public-key the keys come from the ledger; with no ledger here, say how to
    check offline instead of asking to create one."""
    from ledger.books.db import check_ready, make_engine
    from ledger.errors import NotInitialisedError

    try:
        check_ready(make_engine(settings_of(ctx).database_url))
    except NotInitialisedError:
        fail("No ledger database here to take the signing key from; to check offline, pass the ledger's "
             "public keys file with --public-key (written by `fairsplit keys public`).")


def _not_over_yet(period) -> None:
    """A period that has not ended cannot be closed: say when it can be, not "close it first"."""
    from datetime import UTC, datetime

    if period.end > datetime.now(UTC):
        fail(f"Period {period.id} is not over yet; it ends {period.end.isoformat()} and can be closed "
             f"(`fairsplit payouts close {period.id}`) and then exported after that.")
