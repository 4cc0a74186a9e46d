"""A period's statements, one payee at a time, from the database.

The payees are those the close before carried a balance for and those a row of the
period moves (one streamed pass, one name per payee kept). Each payee's statement is then
built from its own rows of the period (`ledger.payouts.period_reading.period_rows` with the
account: the account indexes, never the history) and handed out before the next is read,
so an export holds one payee's lines at a time and the totals of all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, select

from ledger.payouts.close import timeline
from ledger.payouts.arithmetic import Timeline, is_payee
from ledger.payouts.period_reading import mark_of, opening_balances, period_rows
from ledger.payouts.periods import Period
from ledger.books.schema import EVENTS, TRANSFERS
from ledger.statements.lines import EventInfo, Statement, build_statements

_CHUNK = 500


@dataclass(frozen=True)
class PeriodScope:
    """Where a period's statements read: its timeline, its first open period, the head."""

    line: Timeline
    first: Period
    head: int


def period_scope(connection: Connection, period: Period, currency: str) -> PeriodScope:
    """A closed period reads its own rows up to its close; an open one also the open
    periods before it (they count in its opening), up to the head."""
    line = timeline(connection, currency, period.cadence)
    mark = mark_of(line, period)
    if mark is not None:
        return PeriodScope(line, period, mark.through_seq)
    first = line.last_closed.next() if line.last_closed is not None and line.last_closed < period else period
    head = int(connection.execute(select(func.coalesce(func.max(TRANSFERS.c.seq), 0))).scalar())
    return PeriodScope(line, first, head)


def iter_statements(engine: Engine, period: Period, currency: str,
                    accounts: Iterable[str] | None = None) -> Iterator[Statement]:
    """The statements of `period` (only `accounts` if given), sorted by account, with their lines."""
    with engine.connect() as connection:
        scope = period_scope(connection, period, currency)
        opening = opening_balances(connection, currency, scope.line, scope.first)
        payees = sorted(set(accounts) if accounts is not None else _payees(connection, currency, scope, period, opening))
        for account in payees:
            rows = list(period_rows(connection, currency, scope.line, scope.first, period, scope.head, account))
            events = _event_infos(connection, {row["event_id"] for row in rows if row["effective"] == period})
            carried = {account: opening[account]} if account in opening else {}
            yield from build_statements(period, currency, rows, scope.line, events, [account], carried)


def _payees(connection: Connection, currency: str, scope: PeriodScope, period: Period,
            opening: dict[str, int]) -> set[str]:
    found = {account for account in opening if is_payee(account)}
    for row in period_rows(connection, currency, scope.line, scope.first, period, scope.head):
        found.update(account for account in (row["credit_account"], row["debit_account"]) if is_payee(account))
    return found


def _event_infos(connection: Connection, event_ids: set[str]) -> dict[str, EventInfo]:
    """What the events table says about `event_ids`; an event without a row there (old or
    foreign rows) is known by the model its reward paid."""
    infos: dict[str, EventInfo] = {}
    ids = sorted(event_ids)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        query = select(EVENTS.c.event_id, EVENTS.c.content, EVENTS.c.model_id, EVENTS.c.attribution_json).where(
            EVENTS.c.event_id.in_(chunk))
        for row in connection.execute(query):
            shares, test_model = recorded_attribution(row.attribution_json)
            infos[row.event_id] = EventInfo(row.content, row.model_id, shares, test_model)
        missing = [event_id for event_id in chunk if event_id not in infos]
        if missing:
            legs = select(TRANSFERS.c.event_id, TRANSFERS.c.credit_account).where(
                TRANSFERS.c.event_id.in_(missing), TRANSFERS.c.kind == "reward",
                TRANSFERS.c.credit_account.startswith("model:"))
            for event_id, model in connection.execute(legs):
                infos.setdefault(event_id, EventInfo(model_id=model[len("model:"):]))
    return infos


def recorded_attribution(attribution_json: str | None) -> tuple[dict[str, str], bool]:
    """The shares of a recorded attribution and whether a test model made them (old or
    foreign rows may lack either)."""
    try:
        recorded = json.loads(attribution_json or "{}")
        shares = {str(k): str(v) for k, v in dict(recorded.get("shares") or {}).items()}
        method = recorded.get("method")
        return shares, isinstance(method, dict) and method.get("test_model") is True
    except (ValueError, AttributeError, TypeError):
        return {}, False
