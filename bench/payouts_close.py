"""Time a period close and statement exports on SQLite and PostgreSQL.

    PYTHONPATH=. python bench/payouts_close.py [EVENTS] [POSTGRES_ADMIN_URL]

Books EVENTS rewards (three payees each, 20 artists) in October 2026, then times
`close_period` and each statement format, and prints rates per ledger row.
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

from ledger.closing import close_period, export_statements
from ledger.db import make_engine, upgrade_to_head
from ledger.keys import load_or_create_signer
from ledger.periods import parse_period
from ledger.store import Ledger, reward_transfers

EVENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
PG_ADMIN = sys.argv[2] if len(sys.argv) > 2 else "postgresql://postgres@127.0.0.1:5432/test"


def run(url: str, work: Path) -> None:
    upgrade_to_head(url)
    engine = make_engine(url)
    signer, _ = load_or_create_signer(work / "keys", engine)
    ledger = Ledger(engine, signer)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    specs = []
    for n in range(EVENTS):
        shares = {f"artist:a{n % 20}": Fraction(2, 3), f"artist:a{(n + 7) % 20}": Fraction(1, 6),
                  "model:sd-1.5": Fraction(1, 6)}
        specs += reward_transfers(f"ev{n}", "acme", shares, 4_000 + n % 997, "USD",
                                  start + timedelta(seconds=n * 97 % (30 * 86400)))
    for i in range(0, len(specs), 30_000):
        ledger.append(specs[i:i + 30_000])
    october = parse_period("2026-10")
    began = time.perf_counter()
    result = close_period(ledger, october, "USD", minimum=1_000_000)
    closed = time.perf_counter() - began
    print(f"{engine.dialect.name}: {len(specs)} rows; close paid {len(result.transfers)} payees in {closed:.2f} s "
          f"({len(specs) / closed:,.0f} rows/s)")
    for fmt in ("csv", "json", "pdf"):
        began = time.perf_counter()
        export_statements(engine, signer, october, "USD", [fmt], work / fmt)
        took = time.perf_counter() - began
        size = sum(p.stat().st_size for p in (work / fmt).iterdir())
        print(f"  export {fmt}: {took:.2f} s, {size / 1e6:.1f} MB")
    engine.dispose()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", Path(tmp) / "sqlite")
    import psycopg

    name = f"fs_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            with tempfile.TemporaryDirectory() as tmp:
                run(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", Path(tmp))
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
