"""`ledger verify`'s progress, its balance lines and its --since form (a kept checkpoint)."""

from __future__ import annotations

from dataclasses import replace

import typer

from commands.common import err, open_ledger, print_json, say, user_errors
from commands.keyfiles import keyring_problem
from commands.progress import Activity
from ledger.audit.balances import AuditReport, audit
from ledger.books.store import Ledger
from ledger.audit.chain import VerifyReport, verify_ledger
from ledger.audit.since import verify_since

__all__ = ["audit", "balances_line", "verified_with_progress", "verify_since_command"]


def verified_with_progress(engine, quiet: bool = False, first_key=None) -> VerifyReport:
    """The full chain check, its progress on stderr (entries checked of the head)."""
    head, _ = Ledger(engine).head()
    with Activity("verifying the ledger", total=head, unit=" entries", enabled=not quiet) as work:
        return verify_ledger(engine, first_key=first_key, progress=work.update)


def balances_line(audited: AuditReport) -> str:
    legacy = (f"; {audited.legacy_closes} closes made before close entries have none to check"
              if audited.legacy_closes else "")
    return (f"Balances intact: {audited.balances} maintained balances and {audited.closes} closes "
            f"re-derived from the transfers{legacy}.")


def verify_since_command(ctx: typer.Context, kept: bytes, as_json: bool, keyring=None) -> None:
    """`ledger verify --since FILE`: the kept checkpoint, then only the entries after it
    (`keyring`: a public keys file whose first key is pinned and whose ranges must agree)."""
    note = kept.decode("utf-8", "replace")
    with user_errors():
        engine = open_ledger(ctx).engine
        with Activity("verifying the entries after the kept checkpoint", enabled=not as_json,
                      unit=" entries") as work:
            report = verify_since(engine, note, progress=work.update,
                                  first_key=keyring and keyring.keys[0].public_key)
        problem = keyring_problem(engine, keyring) if report.ok and keyring is not None else None
        if problem is not None:
            report = replace(report, ok=False, problem=problem)
    if as_json:
        print_json(report.as_dict())
    elif report.ok:
        say(f"Ledger intact since the kept checkpoint (size {report.kept_size}): {report.checked} entries after it "
            f"verified, head seq {report.head_seq}; {report.checkpoints} later checkpoints match.")
        say(balances_line(report.audit))
    else:
        say(f"Ledger broken after the kept checkpoint: {report.problem}.", "bold red", to=err)
    if not report.ok:
        raise typer.Exit(1)
