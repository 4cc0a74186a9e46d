"""Period close and statement export rates on SQLite and PostgreSQL, next to a raw SQL balance query.

Books --n reward transfers (three payees per event, 20 artists) in October 2026, then
times `close_period` (rows/s) against the reference measured in the same run: one
GROUP BY query summing every payee's balance over the same rows, which is the least a
close must read. Then times each statement format over the closed period.

    python bench/payouts_close.py [--n 60000] [--postgres-url URL]
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

from _common import arguments, open_ledger, record, scratch_databases
from sqlalchemy import func, select

from ledger.payouts.close import close_period
from ledger.statements.export import export_statements
from ledger.payouts.periods import parse_period
from ledger.books.schema import TRANSFERS
from ledger.books.store import reward_transfers

OCTOBER = parse_period("2026-10")


def october_rewards(n: int) -> list:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    specs = []
    for event in range(n // 3):
        shares = {f"artist:a{event % 20}": Fraction(2, 3), f"artist:a{(event + 7) % 20}": Fraction(1, 6),
                  "model:sd-1.5": Fraction(1, 6)}
        specs += reward_transfers(f"ev{event}", "acme", shares, 4_000 + event % 997, "USD",
                                  start + timedelta(seconds=event * 97 % (30 * 86400)))
    return specs


def raw_balances(engine) -> None:
    query = select(TRANSFERS.c.credit_account, func.sum(TRANSFERS.c.amount)).group_by(TRANSFERS.c.credit_account)
    with engine.connect() as connection:
        connection.execute(query).all()


def main() -> None:
    args = arguments(__doc__.splitlines()[0], n=60_000)
    shown = []
    with scratch_databases(args.postgres_url) as databases, tempfile.TemporaryDirectory() as work:
        for backend, url in databases:
            ledger = open_ledger(url, f"{work}/keys")
            specs = october_rewards(args.n)
            for i in range(0, len(specs), args.batch):
                ledger.append(specs[i : i + args.batch])
            began = time.perf_counter()
            raw_balances(ledger.engine)
            raw = len(specs) / (time.perf_counter() - began)
            began = time.perf_counter()
            close_period(ledger, OCTOBER, "USD", minimum=1_000_000)
            closed = len(specs) / (time.perf_counter() - began)
            figures = [f"{backend} close {closed:,.0f} rows/s (raw GROUP BY {raw:,.0f} rows/s)"]
            for fmt in ("csv", "json", "pdf"):
                began = time.perf_counter()
                export_statements(ledger.engine, ledger.signer, OCTOBER, "USD", [fmt], Path(work) / backend / fmt)
                figures.append(f"export {fmt} {time.perf_counter() - began:.1f} s")
            print(", ".join(figures))
            shown.append(", ".join(figures))
            ledger.engine.dispose()
    if not args.no_record:
        record(f"payouts n={len(specs)} rows", "; ".join(shown))


if __name__ == "__main__":
    main()
