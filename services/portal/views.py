"""What the portal shows an artist, always of one account: the session's.

Every function takes the account from the session, never from the request, and every id
a request names (an event, a period) is looked up *within* that account: an id of
another artist's event is answered exactly like an id that does not exist. Read-only:
SELECTs, and a bundle under the newest stored checkpoint (never a new one, which would
be a write). Amounts leave here as decimal strings (`ledger.money.format_amount`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Engine

from ledger.views.accounts import account_history, paid_by_test_models, paid_totals, period_status
from ledger.payouts.close import list_payouts
from ledger.books.encoding import utc
from ledger.errors import LedgerError
from ledger.money import format_amount
from ledger.payouts.periods import parse_period
from ledger.books.schema import EVENTS, TRANSFERS
from ledger.statements.export import statements_for
from ledger.statements.lines import statement_dict
from ledger.books.store import Ledger, StoredTransfer
from ledger.transparency.tree import latest_checkpoint

PAGE_SIZE = 25
MAX_PAGE = 10_000
KINDS = ("reward", "payout", "reversal", "adjustment")
_EVENT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class NotFound(LookupError):
    """Nothing of this account under that id (whether it exists for someone else is not said)."""


def _mine(account: str):
    return or_(TRANSFERS.c.credit_account == account, TRANSFERS.c.debit_account == account)


@dataclass(frozen=True)
class BalanceRow:
    currency: str
    pending: str
    paid_out: str
    proven: str  # the balance as of the newest checkpoint: what the bundle must add up to
    proven_micros: int


@dataclass(frozen=True)
class BalancePage:
    rows: list[BalanceRow]
    checkpoint_size: int | None
    test_model: bool


def balance_page(engine: Engine, account: str) -> BalancePage:
    totals, paid = Ledger(engine).balance(account), paid_totals(engine, account)
    checkpoint = latest_checkpoint(engine)
    size = checkpoint.size if checkpoint else 0
    proven: dict[str, int] = {}
    with engine.connect() as connection:
        for column, sign in ((TRANSFERS.c.credit_account, 1), (TRANSFERS.c.debit_account, -1)):
            query = (select(TRANSFERS.c.currency, func.sum(TRANSFERS.c.amount))
                     .where(column == account, TRANSFERS.c.seq <= size).group_by(TRANSFERS.c.currency))
            for currency, total in connection.execute(query):
                proven[currency] = proven.get(currency, 0) + sign * int(total)
    rows = [BalanceRow(currency, format_amount(micros, currency), format_amount(paid.get(currency, 0), currency),
                       format_amount(proven.get(currency, 0), currency), proven.get(currency, 0))
            for currency, micros in totals.items()]
    return BalancePage(rows, checkpoint.size if checkpoint else None, paid_by_test_models(engine, account))


@dataclass(frozen=True)
class HistoryFilters:
    """Query parameters of the history page, checked: anything else is a NotFound-free 'no'."""

    page: int = 1
    kind: str | None = None
    currency: str | None = None
    period: str | None = None

    @classmethod
    def parse(cls, params: dict[str, str]) -> HistoryFilters:
        page_text = params.get("page", "1")
        if not (page_text.isascii() and page_text.isdigit() and 1 <= int(page_text) <= MAX_PAGE):
            raise ValueError(f"page must be a whole number from 1 to {MAX_PAGE}.")
        kind = params.get("kind") or None
        if kind is not None and kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}.")
        currency = params.get("currency") or None
        if currency is not None and not _CURRENCY.fullmatch(currency):
            raise ValueError("currency must be a three-letter code such as USD.")
        period = params.get("period") or None
        if period is not None:
            try:
                period = parse_period(period).id
            except LedgerError as exc:
                raise ValueError(str(exc)) from None
        return cls(int(page_text), kind, currency, period)

    def query(self, page: int) -> str:
        parts = {"page": str(page), "kind": self.kind, "currency": self.currency, "period": self.period}
        return "&".join(f"{key}={value}" for key, value in parts.items() if value)


def history_page(engine: Engine, account: str, filters: HistoryFilters) -> tuple[list[dict[str, Any]], bool]:
    """One page of the account's transfers (newest first) and whether there is a next page."""
    start = (filters.page - 1) * PAGE_SIZE
    if filters.period is not None:
        lines = [line for line in account_history(engine, account, MAX_PAGE, parse_period(filters.period))
                 if (filters.kind in (None, line.transfer.kind)) and (filters.currency in (None, line.transfer.currency))]
        shown = lines[start:start + PAGE_SIZE + 1]
        rows = [(line.transfer, line.amount, line.counterparty, line.period, line.late, line.status) for line in shown]
    else:
        query = select(TRANSFERS).where(_mine(account))
        if filters.kind:
            query = query.where(TRANSFERS.c.kind == filters.kind)
        if filters.currency:
            query = query.where(TRANSFERS.c.currency == filters.currency)
        with engine.connect() as connection:
            found = [StoredTransfer(**(dict(row._mapping) | {"occurred_at": utc(row.occurred_at), "created_at": utc(row.created_at)}))
                     for row in connection.execute(query.order_by(TRANSFERS.c.seq.desc()).limit(PAGE_SIZE + 1).offset(start))]
        periods = period_status(engine, found)
        rows = [(t, t.amount if t.credit_account == account else -t.amount,
                 t.debit_account if t.credit_account == account else t.credit_account,
                 periods[t.seq]["period"], periods[t.seq]["late"], periods[t.seq]["status"]) for t in found]
    lines = [{"seq": t.seq, "occurred_at": t.occurred_at.strftime("%Y-%m-%d %H:%M"), "kind": t.kind,
              "event_id": t.event_id, "has_event": t.kind in ("reward", "reversal") and bool(_EVENT_ID.fullmatch(t.event_id)),
              "amount": format_amount(amount, t.currency), "currency": t.currency, "counterparty": counterparty,
              "period": period, "late": late, "status": status}
             for t, amount, counterparty, period, late, status in rows]
    return lines[:PAGE_SIZE], len(lines) > PAGE_SIZE


@dataclass
class EventPage:
    event_id: str
    content: str
    occurred_at: str
    reward: str
    model_id: str
    mine: list[dict[str, str]]
    players: list[dict[str, Any]] = field(default_factory=list)
    values: list[tuple[str, str, str]] = field(default_factory=list)
    formula: list[str] = field(default_factory=list)
    tau: Any = None
    test_model: bool = False


def event_page(engine: Engine, account: str, event_id: str) -> EventPage:
    """One event the account was paid (or charged) for, and why it was split so; NotFound otherwise."""
    if not _EVENT_ID.fullmatch(event_id):
        raise NotFound(event_id)
    with engine.connect() as connection:
        mine = connection.execute(select(TRANSFERS).where(TRANSFERS.c.event_id == event_id, _mine(account))
                                  .order_by(TRANSFERS.c.seq)).mappings().all()
        row = connection.execute(select(EVENTS).where(EVENTS.c.event_id == event_id)).mappings().first()
    if not mine or row is None:
        raise NotFound(event_id)
    page = EventPage(event_id, row["content"], utc(row["occurred_at"]).strftime("%Y-%m-%d %H:%M UTC"),
                     f"{format_amount(row['reward_amount'], row['currency'])} {row['currency']}", row["model_id"],
                     [{"kind": t["kind"], "seq": t["seq"],
                       "amount": format_amount(t["amount"] if t["credit_account"] == account else -t["amount"], t["currency"]),
                       "currency": t["currency"]} for t in mine])
    recorded = json.loads(row["attribution_json"])
    if "players" in recorded and "values" in recorded:
        _explained(page, recorded)
    return page


def _explained(page: EventPage, recorded: dict[str, Any]) -> None:
    """The recorded split, in the words and numbers of `fairsplit explain`'s picture."""
    from fairsplit.explain import formula_lines, value_rows
    from services.explain import recorded_split

    split = recorded_split(recorded)
    method = recorded.get("method", {})
    page.tau, page.test_model = method.get("tau"), bool(method.get("test_model"))
    page.players = [{"account": p["account"], "kind": p["kind"], "recognised": p["recognised"],
                     "uplift": None if p.get("uplift") is None else f"{p['uplift']:+.5f}",
                     "share": f"{float(recorded['shares'].get(p['account'], 0.0)):.6f}"} for p in recorded["players"]]
    page.values = value_rows(split)
    page.formula = formula_lines(split)


def payouts_page(engine: Engine, account: str) -> list[dict[str, str]]:
    """The account's payouts, one per closed period and currency, newest first."""
    shown = []
    for record in list_payouts(engine):
        for payout in record["payouts"]:
            if payout["account"] == account:
                shown.append({"period": record["period"], "currency": record["currency"], "seq": payout["seq"],
                              "amount": format_amount(payout["amount"], record["currency"])})
    return shown


def statement_periods(engine: Engine, account: str) -> list[dict[str, str]]:
    """(period, currency, status) of every period the account had a transfer counted in."""
    transfers = Ledger(engine).history(account, limit=MAX_PAGE)
    currency = {t.seq: t.currency for t in transfers}
    found = {(info["period"], currency[seq], info["status"]) for seq, info in period_status(engine, transfers).items()}
    return [{"period": p, "currency": c, "status": s} for p, c, s in sorted(found, reverse=True)]


def statement_file(engine: Engine, account: str, period_text: str, currency: str, fmt: str) -> tuple[bytes, str]:
    """The account's own statement of one period as JSON or CSV; NotFound if it has none there."""
    if not _CURRENCY.fullmatch(currency) or fmt not in ("json", "csv"):
        raise NotFound(period_text)
    try:
        period = parse_period(period_text)
    except LedgerError:
        raise NotFound(period_text) from None
    if period.id != period_text:
        raise NotFound(period_text)
    statements, summary = statements_for(engine, period, currency, [account])
    if not statements or not (statements[0].lines or statements[0].opening or statements[0].closing):
        raise NotFound(period_text)
    document = statement_dict(statements[0], lambda micros: format_amount(micros, currency))
    document["period_status"] = summary.status
    if fmt == "json":
        return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode(), "application/json"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    columns = ["seq", "event_id", "kind", "occurred_at", "late", "amount", "share", "content", "memo", "test_model"]
    writer.writerow(columns)
    for line in document["lines"]:
        writer.writerow([_cell(line.get(name)) for name in columns])
    writer.writerow(["TOTAL", "", "", "", "", document["carried_forward"], "", "", "", ""])
    return buffer.getvalue().encode(), "text/csv; charset=utf-8"


def _cell(value: Any) -> str:
    """A CSV cell no spreadsheet reads as a formula (OWASP: a leading quote)."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START) and not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text):
        return "'" + text
    return text
