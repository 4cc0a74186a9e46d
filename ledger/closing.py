"""Period closes, reversals and statements on the database (the arithmetic is in
`ledger.payouts` and `ledger.statements`; this module reads rows and writes closes).

Invariants:
  1. A close is atomic: its payout transfers and its `period_closes` rows are written in
     one transaction, under the ledger's chain lock, after checking that the ledger head
     is the one the plan was computed from (otherwise the plan is recomputed).
  2. Closes are idempotent and lock their period: closing a closed period writes nothing
     and says so; payout ids derive from `payout:<period>:<CUR>`, so no account can be
     paid twice for one period even by a racing close.
  3. Periods of one currency close in order, in one cadence: closing P also closes every
     earlier open period since the last close (or since the first transfer), oldest
     first, each with its own payouts and record, in the same transaction.
  4. A period closes only once it has ended (its end is in the past).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, Index, Integer, String, func, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, SQLModel

from ledger.accounts import validate_account
from ledger.encoding import utc
from ledger.errors import LedgerError, TransferError
from ledger.events import EVENTS
from ledger.keys import Signer, public_key_from_hex
from ledger.manifest import write_manifest
from ledger.money import check_currency, format_amount
from ledger.payouts import (CloseMark, PayoutDecision, Timeline, balances_through, payout_event_id,
                            payout_time, plan_payouts)
from ledger.periods import DEFAULT_CADENCE, Period, parse_period, periods_between
from ledger.statement_files import RENDERERS
from ledger.statements import EventInfo, FinanceSummary, Statement, build_statements, summarise
from ledger.store import TRANSFERS, Ledger, StoredTransfer, TransferSpec
from ledger.tables import SigningKey
from ledger.transparency import latest_checkpoint
from ledger.witness_table import cosigned_note

_RETRIES = 5


class PeriodClose(SQLModel, table=True):
    __tablename__ = "period_closes"
    __table_args__ = (
        CheckConstraint("cadence IN ('monthly', 'weekly', 'quarterly')", name="ck_period_closes_cadence"),
        CheckConstraint("through_seq >= 0 AND min_payout >= 0 AND paid_total >= 0", name="ck_period_closes_non_negative"),
        Index("ix_period_closes_seq", "currency", "through_seq"),
    )

    currency: str = Field(sa_column=Column(String(3), primary_key=True))
    period: str = Field(sa_column=Column(String(16), primary_key=True))
    cadence: str = Field(sa_column=Column(String(16), nullable=False))
    closed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    through_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    min_payout: int = Field(sa_column=Column(BigInteger, nullable=False))
    payees: int = Field(sa_column=Column(Integer, nullable=False))
    paid_count: int = Field(sa_column=Column(Integer, nullable=False))
    paid_total: int = Field(sa_column=Column(BigInteger, nullable=False))
    carried_total: int = Field(sa_column=Column(BigInteger, nullable=False))


CLOSES = PeriodClose.__table__
_ROW_COLUMNS = (TRANSFERS.c.seq, TRANSFERS.c.id, TRANSFERS.c.event_id, TRANSFERS.c.kind,
                TRANSFERS.c.debit_account, TRANSFERS.c.credit_account, TRANSFERS.c.amount,
                TRANSFERS.c.occurred_at, TRANSFERS.c.memo, TRANSFERS.c.reverses_id)


class PeriodLockedError(LedgerError):
    """A close that would have to change a closed period."""


class _HeadMoved(Exception):
    """The ledger grew between planning and writing; plan again."""


# --- reading ------------------------------------------------------------------------


def closes(connection: Connection | Engine, currency: str | None = None) -> list[dict[str, Any]]:
    """Close records, oldest first (per currency)."""
    query = select(CLOSES).order_by(CLOSES.c.currency, CLOSES.c.through_seq, CLOSES.c.period)
    if currency is not None:
        query = query.where(CLOSES.c.currency == currency)
    if isinstance(connection, Engine):
        with connection.connect() as conn:
            return closes(conn, currency)
    return [dict(row._mapping) | {"closed_at": utc(row.closed_at)} for row in connection.execute(query)]


def timeline(connection: Connection | Engine, currency: str, cadence: str | None = None) -> Timeline:
    """The currency's closes as a Timeline; `cadence` (if given) must match theirs."""
    records = closes(connection, currency)
    known = records[0]["cadence"] if records else None
    if known and cadence and known != cadence:
        raise PeriodLockedError(
            f"{currency} periods are closed {known}; a {cadence} period cannot be used with them."
        )
    cadence = known or cadence or DEFAULT_CADENCE
    marks = [CloseMark(parse_period(record["period"]), record["through_seq"]) for record in records]
    return Timeline(cadence, marks)


def currency_rows(connection: Connection, currency: str, through_seq: int | None = None) -> list[dict[str, Any]]:
    """Every transfer of `currency` as a plain row, oldest first (times in UTC)."""
    query = select(*_ROW_COLUMNS).where(TRANSFERS.c.currency == currency).order_by(TRANSFERS.c.seq)
    if through_seq is not None:
        query = query.where(TRANSFERS.c.seq <= through_seq)
    rows = []
    for row in connection.execute(query):
        values = dict(row._mapping)
        values["occurred_at"] = utc(values["occurred_at"])
        rows.append(values)
    return rows


def _head_seq(connection: Connection) -> int:
    return int(connection.execute(select(func.coalesce(func.max(TRANSFERS.c.seq), 0))).scalar())


# --- closing ------------------------------------------------------------------------


@dataclass
class PeriodPlan:
    period: Period
    decisions: list[PayoutDecision]
    through_seq: int = 0

    @property
    def paid(self) -> list[PayoutDecision]:
        return [decision for decision in self.decisions if decision.paid > 0]


@dataclass
class CloseResult:
    """What `close_period` did: the periods it closed now (empty when already closed)."""

    period: Period
    currency: str
    closed: list[PeriodPlan] = field(default_factory=list)
    already_closed: bool = False
    transfers: list[StoredTransfer] = field(default_factory=list)

    @property
    def paid_total(self) -> int:
        return sum(decision.paid for plan in self.closed for decision in plan.paid)


def plan_close(rows: Sequence[dict[str, Any]], line: Timeline, target: Period, currency: str,
               minimum: int, head_seq: int) -> list[PeriodPlan]:
    """Pure: the periods that closing `target` closes now, oldest first, with their payouts."""
    if line.last_closed is not None:
        first = line.last_closed.next()
    else:
        first = min([line.effective_period(row["seq"], row["occurred_at"])[0] for row in rows] + [target])
    plans: list[PeriodPlan] = []
    paid_before: dict[str, int] = {}
    through = head_seq
    for period in periods_between(first, target):
        balances = balances_through(rows, line, period)
        for account, paid in paid_before.items():
            balances[account] = balances.get(account, 0) - paid
        plan = PeriodPlan(period, plan_payouts(balances, currency, minimum))
        for decision in plan.paid:
            paid_before[decision.account] = paid_before.get(decision.account, 0) + decision.paid
        through += len(plan.paid)
        plan.through_seq = through
        plans.append(plan)
    return plans


def payout_specs(plans: Iterable[PeriodPlan], currency: str) -> list[TransferSpec]:
    return [
        TransferSpec(payout_event_id(plan.period, currency), decision.account, f"payouts:{currency}",
                     decision.paid, currency, "payout", payout_time(plan.period),
                     memo=f"payout for period {plan.period.id}")
        for plan in plans
        for decision in plan.paid
    ]


def close_period(ledger: Ledger, period: Period | str, currency: str = "USD", minimum: int = 0,
                 now: datetime | None = None) -> CloseResult:
    """Close `period` (and earlier open periods) for `currency`; see the module invariants."""
    period = parse_period(period) if isinstance(period, str) else period
    check_currency(currency)
    now = utc(now or datetime.now(UTC))
    if period.end > now:
        raise PeriodLockedError(
            f"Period {period.id} has not ended yet (it ends {period.end.isoformat().replace('+00:00', 'Z')}), "
            "so it cannot be closed."
        )
    for _ in range(_RETRIES):
        with ledger.engine.connect() as connection:
            line = timeline(connection, currency, period.cadence)
            if line.is_closed(period):
                return CloseResult(period, currency, already_closed=True)
            head = _head_seq(connection)
            rows = currency_rows(connection, currency, head)
        plans = plan_close(rows, line, period, currency, minimum, head)
        records = [_close_record(plan, currency, minimum, now) for plan in plans]
        try:
            stored = _append_with(ledger, payout_specs(plans, currency), head, records)
        except _HeadMoved:
            continue
        return CloseResult(period, currency, plans, transfers=stored)
    raise LedgerError("The ledger kept growing while closing the period; try the close again.")


def _close_record(plan: PeriodPlan, currency: str, minimum: int, now: datetime) -> dict[str, Any]:
    return {
        "currency": currency, "period": plan.period.id, "cadence": plan.period.cadence, "closed_at": now,
        "through_seq": plan.through_seq, "min_payout": minimum, "payees": len(plan.decisions),
        "paid_count": len(plan.paid), "paid_total": sum(d.paid for d in plan.paid),
        "carried_total": sum(d.carried for d in plan.decisions),
    }


def _append_with(ledger: Ledger, specs: list[TransferSpec], head: int, records: list[dict]) -> list[StoredTransfer]:
    """Append `specs` and insert the close `records` in one chain-locked transaction."""

    def record(connection: Connection) -> bool:
        already = connection.execute(select(func.count()).select_from(CLOSES).where(
            CLOSES.c.currency == records[0]["currency"], CLOSES.c.period.in_([r["period"] for r in records]))).scalar()
        if _head_seq(connection) != head or already:
            raise _HeadMoved()
        connection.execute(insert(CLOSES), records)
        return True

    return ledger.append(specs, before_insert=record)


# --- reversals ----------------------------------------------------------------------


def reverse_event(ledger: Ledger, event_id: str, reason: str) -> list[StoredTransfer]:
    """Reverse every reward transfer of `event_id` (a clawback); refuses a second reversal."""
    reason = (reason or "").strip()
    if not reason:
        raise TransferError("A reversal needs a reason (--reason), e.g. 'withdrawn by the platform'.")
    with ledger.engine.connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(
            select(TRANSFERS).where(TRANSFERS.c.event_id == event_id).order_by(TRANSFERS.c.seq))]
    rewards = [row for row in rows if row["kind"] == "reward"]
    if not rewards:
        raise TransferError(f"Event {event_id} has no reward transfers in the ledger, so there is nothing to reverse.")
    if any(row["kind"] == "reversal" for row in rows):
        raise TransferError(f"Event {event_id} is already reversed; an event can be reversed only once.")
    specs = [
        TransferSpec(event_id, row["credit_account"], row["debit_account"], row["amount"], row["currency"],
                     "reversal", utc(row["occurred_at"]), row["attribution_id"], reverses_id=row["id"], memo=reason)
        for row in rewards
    ]
    return ledger.append(specs)


# --- payouts list and balances by period -------------------------------------------


def list_payouts(engine: Engine, period: Period | None = None) -> list[dict[str, Any]]:
    """Close records (newest first) with the payout transfers each one made."""
    with engine.connect() as connection:
        records = closes(connection)
        if period is not None:
            records = [r for r in records if r["period"] == period.id]
        for record in records:
            event_id = payout_event_id(parse_period(record["period"]), record["currency"])
            record["payouts"] = [
                dict(row._mapping) for row in connection.execute(
                    select(TRANSFERS.c.seq, TRANSFERS.c.id, TRANSFERS.c.debit_account.label("account"),
                           TRANSFERS.c.amount)
                    .where(TRANSFERS.c.event_id == event_id, TRANSFERS.c.kind == "payout")
                    .order_by(TRANSFERS.c.debit_account))
            ]
    return sorted(records, key=lambda r: (r["currency"], r["through_seq"], r["period"]), reverse=True)


def statements_for(engine: Engine, period: Period, currency: str,
                   accounts: Iterable[str] | None = None) -> tuple[list[Statement], FinanceSummary]:
    """Statements and finance summary of `period`, reconciled against the ledger's payouts."""
    with engine.connect() as connection:
        line = timeline(connection, currency, period.cadence)
        rows = currency_rows(connection, currency)
        wanted = None if accounts is None else [validate_account(account) for account in accounts]
        in_period = {row["event_id"] for row in rows if line.effective_period(row["seq"], row["occurred_at"])[0] == period}
        events = _event_infos(connection, in_period)
        statements = build_statements(period, currency, rows, line, events, wanted)
        ledger_payouts = _ledger_payouts(connection, period, currency, wanted)
    summary = summarise(period, currency, statements, line.is_closed(period), ledger_payouts)
    return statements, summary


def _ledger_payouts(connection: Connection, period: Period, currency: str, accounts: list[str] | None) -> int:
    """What reached `payouts:<CUR>` for the period, summed straight from the transfers."""
    query = select(func.coalesce(func.sum(TRANSFERS.c.amount), 0)).where(
        TRANSFERS.c.credit_account == f"payouts:{currency}",
        TRANSFERS.c.event_id == payout_event_id(period, currency),
    )
    if accounts is not None:
        query = query.where(TRANSFERS.c.debit_account.in_(accounts))
    return int(connection.execute(query).scalar())


def _event_infos(connection: Connection, event_ids: set[str]) -> dict[str, EventInfo]:
    infos: dict[str, EventInfo] = {}
    ids = sorted(event_ids)
    for start in range(0, len(ids), 500):
        query = select(EVENTS.c.event_id, EVENTS.c.content, EVENTS.c.model_id, EVENTS.c.attribution_json).where(
            EVENTS.c.event_id.in_(ids[start:start + 500]))
        for row in connection.execute(query):
            try:
                shares = json.loads(row.attribution_json or "{}").get("shares") or {}
            except (ValueError, AttributeError):
                shares = {}
            infos[row.event_id] = EventInfo(row.content, row.model_id,
                                            {str(k): str(v) for k, v in dict(shares).items()})
    return infos


# --- export -------------------------------------------------------------------------


def export_statements(engine: Engine, signer: Signer, period: Period, currency: str, formats: Sequence[str],
                      out_dir: Path, accounts: Iterable[str] | None = None) -> tuple[FinanceSummary, Path, list[Path]]:
    """Write the period's statement files and a signed manifest.json into `out_dir`."""
    statements, summary = statements_for(engine, period, currency, accounts)
    if summary.status != "closed":
        raise PeriodLockedError(
            f"Period {period.id} is not closed for {currency}; close it first (fairsplit payouts close {period.id})."
        )
    if not summary.reconciles:
        raise LedgerError(f"Statements for {period.id} do not reconcile with the ledger; run `fairsplit ledger verify`.")
    out_dir.mkdir(parents=True, exist_ok=True)

    def fmt(micros: int) -> str:
        return format_amount(micros, currency)

    files = [path for name in formats for path in RENDERERS[name](out_dir, statements, summary, fmt)]
    subject = {"period": period.id, "currency": currency, "formats": list(formats),
               "accounts": None if accounts is None else sorted(accounts), "payouts_total": fmt(summary.payouts.total)}
    checkpoint = latest_checkpoint(engine)
    if checkpoint is not None:  # the signed tree head the statements were made at, with its cosignatures
        with engine.connect() as connection:
            subject["checkpoint"] = cosigned_note(connection, checkpoint.size, checkpoint.note)
    manifest = write_manifest(out_dir, files, signer, subject)
    return summary, manifest, files


def public_key_of(engine: Engine, key_id: str):
    """The registered public key `key_id` (for checking manifests), or None."""
    with engine.connect() as connection:
        raw = connection.execute(select(SigningKey.public_key).where(SigningKey.key_id == key_id)).scalar()
    return None if raw is None else public_key_from_hex(raw)


def account_period_view(engine: Engine, account: str, period: Period, currency: str) -> Statement:
    """One account's statement for `period` (open or closed): pending vs paid for balance/history."""
    statements, _ = statements_for(engine, period, currency, [account])
    return statements[0] if statements else Statement(account, currency, period.id)


def paid_totals(engine: Engine, account: str) -> dict[str, int]:
    """Everything ever paid out of `account` (its payout transfers), per currency."""
    query = (select(TRANSFERS.c.currency, func.sum(TRANSFERS.c.amount))
             .where(TRANSFERS.c.debit_account == account, TRANSFERS.c.kind == "payout")
             .group_by(TRANSFERS.c.currency))
    with engine.connect() as connection:
        return {currency: int(total) for currency, total in connection.execute(query)}


def period_status(engine: Engine, transfers: Iterable[StoredTransfer]) -> dict[int, dict[str, Any]]:
    """seq -> {period, late, status} for booked transfers: the period each one counts in,
    whether it arrived after its own period closed, and `pending` (period open) or `closed`."""
    by_currency: dict[str, list[StoredTransfer]] = {}
    for transfer in transfers:
        by_currency.setdefault(transfer.currency, []).append(transfer)
    found: dict[int, dict[str, Any]] = {}
    with engine.connect() as connection:
        for currency, group in by_currency.items():
            line = timeline(connection, currency)
            for transfer in group:
                period, late = line.effective_period(transfer.seq, transfer.occurred_at)
                found[transfer.seq] = {"period": period.id, "late": late,
                                       "status": "closed" if line.is_closed(period) else "pending"}
    return found


def period_transfers(engine: Engine, account: str, period: Period, limit: int) -> list[StoredTransfer]:
    """The account's transfers that count in `period` (any currency), newest first."""
    seqs: list[int] = []
    with engine.connect() as connection:
        currencies = connection.execute(select(TRANSFERS.c.currency).distinct().where(
            (TRANSFERS.c.debit_account == account) | (TRANSFERS.c.credit_account == account))).scalars().all()
    for currency in currencies:
        seqs += [line.seq for line in account_period_view(engine, account, period, currency).lines]
    seqs = sorted(seqs, reverse=True)[:limit]
    with engine.connect() as connection:
        rows = connection.execute(select(TRANSFERS).where(TRANSFERS.c.seq.in_(seqs)).order_by(TRANSFERS.c.seq.desc()))
        return [StoredTransfer(**(dict(row._mapping) | {"occurred_at": utc(row.occurred_at),
                                                        "created_at": utc(row.created_at)})) for row in rows]
