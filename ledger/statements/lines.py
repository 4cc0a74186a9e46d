"""Statements as pure functions over plain transfer rows (no database here).

For one period and currency, each payee's statement says:

    opening + credits − reversals + adjustments = balance before payout
    balance before payout − payout             = carried forward
    carried forward                             = closing (the ledger's balance of the
                                                  account over effective periods <= P)

The last line is a reconciliation, not a definition: `closing` is summed from the rows
independently, and `Statement.reconciles` says whether the two agree. The finance summary
adds the statements up; its payouts total must equal what the ledger moved into
`payouts:<CUR>` for the period (checked by the caller that can read the ledger).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from ledger.money import MICROS_PER_UNIT
from ledger.payouts.arithmetic import Timeline, is_payee
from ledger.payouts.periods import Period, as_utc

STATEMENT_SCHEMA = "fairsplit.statement.v1"


@dataclass(frozen=True, slots=True)
class EventInfo:
    """What the `events` table says about an event (all optional for old/foreign rows)."""

    content: str | None = None
    model_id: str | None = None
    shares: Mapping[str, str] = field(default_factory=dict)
    test_model: bool = False  # attributed with a test model (`method.test_model`): its shares mean nothing


@dataclass(slots=True)
class Line:
    """One transfer of the period on a payee's account (amount signed for that account)."""

    seq: int
    event_id: str
    kind: str
    occurred_at: datetime
    amount: int
    late: bool
    model_id: str | None
    content: str | None
    share: str | None
    memo: str | None
    transfer_id: str | None = None
    counterparty: str | None = None
    reverses_id: str | None = None
    test_model: bool = False


@dataclass(slots=True)
class Tally:
    count: int = 0
    total: int = 0

    def add(self, amount: int) -> None:
        self.count += 1
        self.total += amount


@dataclass(slots=True)
class Statement:
    account: str
    currency: str
    period: str
    opening: int = 0
    credits: Tally = field(default_factory=Tally)
    credits_by_model: dict[str, Tally] = field(default_factory=dict)
    reversals: Tally = field(default_factory=Tally)
    adjustments: int = 0
    payout: int = 0
    closing: int = 0
    lines: list[Line] = field(default_factory=list)
    # Kept as the lines are booked, so a statement whose lines were written out and dropped
    # (`without_lines`) still sums up: late lines, reward lines (those a test model split),
    # reward and reversal amounts per UTC day, and the most decimals a line's amount has
    # (a file writes every amount to one number of decimals, decided before its lines).
    late_count: int = 0
    reward_lines: int = 0
    test_model_rewards: int = 0
    test_model_lines: int = 0
    per_day: dict[str, int] = field(default_factory=dict)
    line_decimals: int = 0

    def without_lines(self) -> Statement:
        """The same totals, without the lines (what a file's first pages and the summary need)."""
        return replace(self, lines=[])

    @property
    def before_payout(self) -> int:
        return self.opening + self.credits.total - self.reversals.total + self.adjustments

    @property
    def carried_forward(self) -> int:
        return self.before_payout - self.payout

    @property
    def reconciles(self) -> bool:
        return self.carried_forward == self.closing

    @property
    def late_lines(self) -> int:
        return self.late_count

    @property
    def test_model(self) -> bool:
        """Some line of the period comes from an event a test model attributed."""
        return self.test_model_lines > 0


@dataclass(slots=True)
class FinanceSummary:
    period: str
    currency: str
    status: str  # closed | open
    payees: int = 0
    opening: int = 0
    credits: Tally = field(default_factory=Tally)
    reversals: Tally = field(default_factory=Tally)
    adjustments: int = 0
    payouts: Tally = field(default_factory=Tally)
    carried_forward: int = 0
    closing: int = 0
    late_lines: int = 0
    test_model: bool = False  # some statement has a line a test model attributed
    ledger_payouts: int | None = None  # what reached payouts:<CUR>, filled by the caller
    earnings_per_day: dict[str, int] = field(default_factory=dict)
    top_payees: list[tuple[str, int]] = field(default_factory=list)

    @property
    def reconciles(self) -> bool:
        books = self.opening + self.credits.total - self.reversals.total + self.adjustments
        return (books - self.payouts.total == self.carried_forward == self.closing
                and (self.ledger_payouts is None or self.ledger_payouts == self.payouts.total))


def _event_model(rows: list[Mapping[str, Any]], events: Mapping[str, EventInfo]) -> dict[str, str]:
    """event id -> model id: from the events table, else from the event's model: payee."""
    models: dict[str, str] = {}
    for row in rows:
        if row["kind"] == "reward" and row["credit_account"].startswith("model:"):
            models.setdefault(row["event_id"], row["credit_account"][len("model:"):])
    for event_id, info in events.items():
        if info.model_id:
            models[event_id] = info.model_id
    return models


def _share(info: EventInfo | None, account: str) -> str | None:
    if info is None:
        return None
    share = info.shares.get(account, info.shares.get(account.partition(":")[2]))
    return None if share is None else str(share)


def build_statements(
    period: Period,
    currency: str,
    rows: Iterable[Mapping[str, Any]],
    timeline: Timeline,
    events: Mapping[str, EventInfo] | None = None,
    accounts: Iterable[str] | None = None,
    opening: Mapping[str, int] | None = None,
) -> list[Statement]:
    """One statement per payee with a balance or activity up to `period`, sorted by account.

    `rows` are the currency's transfers (seq, event_id, kind, debit_account,
    credit_account, amount, occurred_at, memo); `accounts` limits the output. `opening`:
    balances carried into the rows' first period by a close (the rows then start there).
    """
    rows = list(rows)
    events = events or {}
    models = _event_model(rows, events)
    wanted = None if accounts is None else set(accounts)
    statements: dict[str, Statement] = {}
    for account, balance in (opening or {}).items():
        if is_payee(account) and (wanted is None or account in wanted):
            statements[account] = Statement(account, currency, period.id, opening=balance, closing=balance)
    for row in sorted(rows, key=lambda r: r["seq"]):
        effective, late = timeline.effective_period(row["seq"], row["occurred_at"])
        if effective > period:
            continue
        for account, sign in ((row["credit_account"], 1), (row["debit_account"], -1)):
            if not is_payee(account) or (wanted is not None and account not in wanted):
                continue
            statement = statements.get(account)
            if statement is None:
                statement = statements[account] = Statement(account, currency, period.id)
            amount = sign * row["amount"]
            statement.closing += amount
            if effective < period:
                statement.opening += amount
                continue
            _book(statement, row, amount, late, models, events)
    return [statements[account] for account in sorted(statements)]


def _book(statement: Statement, row: Mapping[str, Any], amount: int, late: bool,
          models: Mapping[str, str], events: Mapping[str, EventInfo]) -> None:
    kind, event_id = row["kind"], row["event_id"]
    model = models.get(event_id)
    if kind == "reward" and amount > 0:
        statement.credits.add(amount)
        statement.credits_by_model.setdefault(model or "unknown", Tally()).add(amount)
    elif kind == "reversal" and amount < 0:
        statement.reversals.add(-amount)
    elif kind == "payout":
        statement.payout -= amount
    else:
        statement.adjustments += amount
    info = events.get(event_id)
    tested = bool(info and info.test_model)
    statement.late_count += late
    statement.line_decimals = max(statement.line_decimals, len(f"{abs(amount) % MICROS_PER_UNIT:06d}".rstrip("0")))
    statement.test_model_lines += tested
    if kind == "reward":
        statement.reward_lines += 1
        statement.test_model_rewards += tested
    if kind in ("reward", "reversal"):
        day = as_utc(row["occurred_at"]).date().isoformat()
        statement.per_day[day] = statement.per_day.get(day, 0) + amount
    statement.lines.append(Line(
        seq=row["seq"], event_id=event_id, kind=kind, occurred_at=row["occurred_at"], amount=amount,
        late=late, model_id=model, content=info.content if info else None,
        share=_share(info, statement.account), memo=row.get("memo"), transfer_id=row.get("id"),
        counterparty=row["debit_account"] if amount > 0 else row["credit_account"], reverses_id=row.get("reverses_id"),
        test_model=bool(info and info.test_model),
    ))


def summarise(period: Period, currency: str, statements: list[Statement], closed: bool,
              ledger_payouts: int | None = None, top: int = 10) -> FinanceSummary:
    """Add the statements up for finance, with the data of its charts."""
    summary = FinanceSummary(period.id, currency, "closed" if closed else "open", ledger_payouts=ledger_payouts)
    per_day: dict[str, int] = defaultdict(int)
    earned: list[tuple[str, int]] = []
    for statement in statements:
        summary.payees += 1
        summary.opening += statement.opening
        summary.credits.count += statement.credits.count
        summary.credits.total += statement.credits.total
        summary.reversals.count += statement.reversals.count
        summary.reversals.total += statement.reversals.total
        summary.adjustments += statement.adjustments
        if statement.payout:
            summary.payouts.add(statement.payout)
        summary.carried_forward += statement.carried_forward
        summary.closing += statement.closing
        summary.late_lines += statement.late_lines
        summary.test_model = summary.test_model or statement.test_model
        for day, amount in statement.per_day.items():
            per_day[day] += amount
        earned.append((statement.account, statement.credits.total - statement.reversals.total))
    summary.earnings_per_day = dict(sorted(per_day.items()))
    summary.top_payees = sorted((pair for pair in earned if pair[1] > 0), key=lambda p: (-p[1], p[0]))[:top]
    return summary


def iso_time(moment: datetime) -> str:
    """`2026-11-24T12:00:00Z`-style UTC text (microseconds only when present)."""
    return as_utc(moment).isoformat().replace("+00:00", "Z")


def statement_dict(statement: Statement, fmt) -> dict[str, Any]:
    """JSON-ready statement; `fmt(micros)` turns amounts into decimal strings."""
    return {
        "account": statement.account, "currency": statement.currency, "period": statement.period,
        "opening": fmt(statement.opening),
        "credits": {"count": statement.credits.count, "total": fmt(statement.credits.total)},
        "credits_by_model": {
            model: {"count": tally.count, "total": fmt(tally.total)}
            for model, tally in sorted(statement.credits_by_model.items())
        },
        "reversals": {"count": statement.reversals.count, "total": fmt(statement.reversals.total)},
        "adjustments": fmt(statement.adjustments),
        "balance_before_payout": fmt(statement.before_payout),
        "payout": fmt(statement.payout),
        "carried_forward": fmt(statement.carried_forward),
        "closing": fmt(statement.closing),
        "reconciles": statement.reconciles,
        "test_model": statement.test_model,
        "lines": [
            {**{k: v for k, v in asdict(line).items() if k not in ("amount", "occurred_at")},
             "occurred_at": iso_time(line.occurred_at), "amount": fmt(line.amount)}
            for line in statement.lines
        ],
    }


def summary_dict(summary: FinanceSummary, fmt) -> dict[str, Any]:
    """JSON-ready finance summary."""
    return {
        "period": summary.period, "currency": summary.currency, "status": summary.status,
        "payees": summary.payees, "opening": fmt(summary.opening),
        "credits": {"count": summary.credits.count, "total": fmt(summary.credits.total)},
        "reversals": {"count": summary.reversals.count, "total": fmt(summary.reversals.total)},
        "adjustments": fmt(summary.adjustments),
        "payouts": {"count": summary.payouts.count, "total": fmt(summary.payouts.total)},
        "ledger_payouts": None if summary.ledger_payouts is None else fmt(summary.ledger_payouts),
        "carried_forward": fmt(summary.carried_forward), "closing": fmt(summary.closing),
        "late_lines": summary.late_lines, "reconciles": summary.reconciles, "test_model": summary.test_model,
        "earnings_per_day": {day: fmt(amount) for day, amount in summary.earnings_per_day.items()},
        "top_payees": [{"account": account, "earned": fmt(amount)} for account, amount in summary.top_payees],
    }
