"""Counting what a piece of work reads from `transfers`: every SELECT it sends that names
the table is run again, wrapped in COUNT(*), with the same parameters."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine, event

_TRANSFERS = re.compile(r"\bFROM transfers\b", re.IGNORECASE)


@dataclass
class Reads:
    statements: list[tuple[str, object]] = field(default_factory=list)
    rows: int = 0


@contextmanager
def transfer_rows_read(engine: Engine) -> Iterator[Reads]:
    reads = Reads()

    def capture(_conn, _cursor, statement, parameters, _context, _executemany):
        if statement.lstrip().upper().startswith("SELECT") and _TRANSFERS.search(statement):
            reads.statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield reads
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    with engine.connect() as connection:
        for statement, parameters in reads.statements:
            counted = f"SELECT count(*) FROM ({statement}) AS counted"
            reads.rows += connection.exec_driver_sql(counted, parameters).scalar()
