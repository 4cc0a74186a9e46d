"""Signed ledger appends per second on SQLite and PostgreSQL, next to raw inserts.

"events booked with evidence" books whole events as the ledger writer does (event record,
evidence document, key check under the chain lock, 3 reward rows; signing the events and
results is not timed), next to the same events booked without evidence, as before (records
and rewards only). The reference is measured in the same run on the same database: equally sized rows
(already sealed, so no hashing or signing) inserted into a plain table without indexes,
constraints or triggers — batched INSERT (executemany) and, on PostgreSQL, COPY — and
the same append path without its maintained balances (the cost of `ledger.books.balances`).

    python bench/ledger_append.py [--n 20000] [--batch 5000] [--postgres-url URL]
"""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from dataclasses import replace

from _common import arguments, book, open_ledger, rate, report, sample_specs, scratch_databases, signed_bookings

from sqlalchemy import Column, MetaData, Table, insert, select

from ledger.books import store
from ledger.books.events import book_events

from ledger.books.schema import TRANSFER_COLUMNS, Transfer


def plain_table(engine) -> Table:
    """A copy of `transfers`' columns with nothing else: the raw-insert reference."""
    metadata = MetaData()
    table = Table("bench_plain", metadata, *(Column(c.name, c.type) for c in Transfer.__table__.columns))
    metadata.create_all(engine)
    return table


@contextmanager
def maintained_balances_off():
    """The append path without its `account_balances` rows: the cost of the hook, same run."""
    real = store.record_balances
    store.record_balances = lambda connection, rows: None
    try:
        yield
    finally:
        store.record_balances = real


def bench_backend(backend: str, url: str, n: int, batch: int, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as key_dir:
        ledger = open_ledger(url, key_dir)
        ledger.append(sample_specs(batch, prefix="warm-up"))
        rounds = [sample_specs(n, prefix=f"round-{r}") for r in range(repeat)]
        signed = max(rate(n, lambda s=s: [ledger.append(s[i : i + batch]) for i in range(0, n, batch)]) for s in rounds)
        bare = [sample_specs(n, prefix=f"bare-{r}") for r in range(repeat)]
        with maintained_balances_off():
            unmaintained = max(rate(n, lambda s=s: [ledger.append(s[i : i + batch]) for i in range(0, n, batch)])
                               for s in bare)
        with ledger.engine.connect() as connection:
            rows = [dict(r._mapping) for r in connection.execute(select(Transfer.__table__).limit(n))]
        table = plain_table(ledger.engine)

        def batched_insert() -> None:
            for i in range(0, n, batch):
                with ledger.engine.begin() as connection:
                    connection.execute(insert(table), rows[i : i + batch])

        def copy() -> None:
            for i in range(0, n, batch):
                with ledger.engine.begin() as connection, connection.connection.driver_connection.cursor() as cursor:
                    with cursor.copy(f"COPY bench_plain ({', '.join(TRANSFER_COLUMNS)}) FROM STDIN") as out:
                        for row in rows[i : i + batch]:
                            out.write_row([row[c] for c in TRANSFER_COLUMNS])

        events = [signed_bookings(ledger, n, prefix=f"events-{r}") for r in range(repeat)]
        booked = max(rate(3 * len(e), lambda e=e: [book(ledger, e[i : i + batch // 3]) for i in range(0, len(e), batch // 3)])
                     for e in events)
        plain = [[(record, [replace(spec, memo=None) for spec in specs], None) for record, specs, _ in
                  signed_bookings(ledger, n, prefix=f"plain-{r}")] for r in range(repeat)]
        unbound = max(rate(3 * len(e), lambda e=e: [book_events(ledger, [(r, s) for r, s, _ in e[i : i + batch // 3]])
                                                   for i in range(0, len(e), batch // 3)]) for e in plain)
        figures = {
            f"{backend} signed append": signed,
            f"{backend} signed append without maintained balances": unmaintained,
            f"{backend} events booked with evidence (rows/s)": booked,
            f"{backend} events booked without (the path before, rows/s)": unbound,
            f"{backend} raw batched INSERT": max(rate(n, batched_insert) for _ in range(repeat)),
        }
        if backend == "postgresql":
            figures[f"{backend} raw COPY"] = max(rate(n, copy) for _ in range(repeat))
        ledger.engine.dispose()
        return figures


def main() -> None:
    args = arguments(__doc__.splitlines()[0], n=20_000)
    figures: dict[str, float] = {}
    with scratch_databases(args.postgres_url) as databases:
        for backend, url in databases:
            figures.update(bench_backend(backend, url, args.n, args.batch, args.repeat))
    report(f"append n={args.n} batch={args.batch} best of {args.repeat}", figures, args)


if __name__ == "__main__":
    main()
