"""Statements of a period from the database, and their export as signed files.

The statements themselves are pure (`ledger.statements.lines`); this module reads the rows,
reconciles the statements against what the ledger moved into `payouts:<CUR>`, and writes
the files with their signed manifest (`ledger.statements.manifest`) into a new folder, atomically.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from ledger.books.accounts import validate_account
from ledger.payouts.close import PeriodLockedError, closes, timeline
from ledger.transparency.cosigned_notes import cosigned_note
from ledger.books.db import refuse_overflow
from ledger.errors import LedgerError
from ledger.keys.log import signer_problem
from ledger.keys.signing import Signer
from ledger.statements.manifest import MANIFEST_NAME, write_manifest
from ledger.money import format_amount
from ledger.payouts.arithmetic import payout_event_id
from ledger.payouts.period_reading import first_period
from ledger.statements.stream import iter_statements
from ledger.payouts.periods import Period
from ledger.books.schema import TRANSFERS
from ledger.statements.files import RENDERERS
from ledger.statements.lines import FinanceSummary, Statement, summarise
from ledger.transparency.tree import latest_checkpoint


def statements_for(engine: Engine, period: Period, currency: str,
                   accounts: Iterable[str] | None = None) -> tuple[list[Statement], FinanceSummary]:
    """Statements (with their lines) and finance summary of `period`, reconciled against
    the ledger's payouts; reads what `ledger.statements.stream` reads."""
    wanted = None if accounts is None else [validate_account(account) for account in accounts]
    statements = list(iter_statements(engine, period, currency, wanted))
    return statements, _summary(engine, period, currency, statements, wanted)


def _summary(engine: Engine, period: Period, currency: str, statements: list[Statement],
             wanted: list[str] | None) -> FinanceSummary:
    with engine.connect() as connection:
        closed = timeline(connection, currency, period.cadence).is_closed(period)
        ledger_payouts = _ledger_payouts(connection, period, currency, wanted)
    return summarise(period, currency, statements, closed, ledger_payouts)


def _ledger_payouts(connection: Connection, period: Period, currency: str, accounts: list[str] | None) -> int:
    """What reached `payouts:<CUR>` for the period, summed straight from the transfers."""
    query = select(func.coalesce(func.sum(TRANSFERS.c.amount), 0)).where(
        TRANSFERS.c.credit_account == f"payouts:{currency}",
        TRANSFERS.c.event_id == payout_event_id(period, currency),
    )
    if accounts is not None:
        query = query.where(TRANSFERS.c.debit_account.in_(accounts))
    with refuse_overflow(f"The payouts of {period.id}"):
        return int(connection.execute(query).scalar())


# --- export -------------------------------------------------------------------------


def export_statements(engine: Engine, signer: Signer, period: Period, currency: str, formats: Sequence[str],
                      out_dir: Path, accounts: Iterable[str] | None = None) -> tuple[FinanceSummary, Path, list[Path]]:
    """Write the period's statement files and a signed manifest.json into `out_dir`."""
    with engine.connect() as connection:
        first = first_period(connection, currency, timeline(connection, currency, period.cadence))
    if first is None or period < first:
        raise PeriodLockedError(f"Period {period.id} is before the ledger's first {currency} period "
                                f"({first.id if first else 'none yet'}); there is no statement to export.")
    wanted = None if accounts is None else [validate_account(account) for account in accounts]
    statements = [statement.without_lines() for statement in iter_statements(engine, period, currency, wanted)]
    summary = _summary(engine, period, currency, statements, wanted)
    if summary.status != "closed":
        raise PeriodLockedError(
            f"Period {period.id} is not closed for {currency}; close it first (fairsplit payouts close {period.id})."
        )
    if not summary.reconciles:
        raise LedgerError(f"Statements for {period.id} do not reconcile with the ledger; run `fairsplit ledger verify`.")
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise LedgerError(f"{out_dir} is not an empty folder; export into a new one "
                          "(a folder holds one export, and its manifest lists every file in it).")
    out_dir.parent.mkdir(parents=True, exist_ok=True)

    def fmt(micros: int) -> str:
        return format_amount(micros, currency)

    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:  # written aside and renamed into place: a failed export leaves nothing behind
        files = [path for name in formats for path in RENDERERS[name](
            staging, statements, summary, fmt, lambda: iter_statements(engine, period, currency, wanted))]
        subject = {"period": period.id, "currency": currency, "formats": list(formats),
                   "accounts": None if accounts is None else sorted(accounts),
                   "payouts_total": fmt(summary.payouts.total)}
        log_size, subject["through_seq"] = _signed_at(engine, signer, period, currency)
        checkpoint = latest_checkpoint(engine)
        if checkpoint is not None:  # the signed tree head the statements were made at, with its cosignatures
            with engine.connect() as connection:
                subject["checkpoint"] = cosigned_note(connection, checkpoint.size, checkpoint.note)
        write_manifest(staging, files, signer, subject, log_size)
        if out_dir.exists():
            out_dir.rmdir()
        staging.rename(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return summary, out_dir / MANIFEST_NAME, [out_dir / path.name for path in files]


def _signed_at(engine: Engine, signer: Signer, period: Period, currency: str) -> tuple[int, int | None]:
    """(the log's size now, the period's close seq): the manifest states both, and only the key
    current at that size may sign it (`ledger.statements.manifest.manifest_key`)."""
    with engine.connect() as connection:
        size = connection.execute(select(func.max(TRANSFERS.c.seq))).scalar() or 0
        problem = signer_problem(connection, signer, size)
        through = next((r["through_seq"] for r in closes(connection, currency) if r["period"] == period.id), None)
    if problem is not None:
        raise LedgerError(f"Cannot sign the manifest: {problem}; sign with the current key.")
    return size, through
