"""Closing periods on both backends: payouts, carry-forward, locking, reversals, late events."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ledger.payouts.close import PeriodLockedError, close_period, closes, list_payouts
from ledger.errors import TransferError
from ledger.payouts.periods import parse_period
from ledger.books.reversals import reverse_event
from ledger.statements.export import statements_for
from tests.payouts.support import MODEL, at, eid

LATER = datetime(2027, 2, 1, tzinfo=UTC)
NOV, DEC = parse_period("2026-11"), parse_period("2026-12")
HALF = {"artist:van-gogh": Fraction(1, 2), MODEL: Fraction(1, 2)}


def close(env, period, minimum=0, currency="USD"):
    return close_period(env.ledger, period, currency, minimum, now=LATER)


def test_close_pays_rounded_down_and_reconciles(env):
    env.reward("e1", at(3), 2_470_000, HALF)           # 1.235 each: 1.23 paid, 0.005 carried (events pay whole cents)
    env.reward("e2", at(4), 1_000_000, {"artist:monet": Fraction(1)})
    result = close(env, NOV)
    assert [p.period.id for p in result.closed] == ["2026-11"]
    paid = {d.account: d.paid for d in result.closed[0].decisions}
    assert paid == {"artist:monet": 1_000_000, "artist:van-gogh": 1_230_000, MODEL: 1_230_000}
    assert env.balance("payouts:USD") == 3_460_000 == result.paid_total
    assert env.balance("artist:van-gogh") + env.balance(MODEL) == 10_000  # sub-cent remainders stay
    statements, summary = statements_for(env.engine, NOV, "USD")
    assert summary.status == "closed" and summary.reconciles
    assert summary.payouts.total == summary.ledger_payouts == env.balance("payouts:USD")
    assert summary.closing == sum(env.balance(s.account) for s in statements)
    van_gogh = next(s for s in statements if s.account == "artist:van-gogh")
    assert van_gogh.lines[0].content == "an image of a man" and van_gogh.lines[0].share == "0.5"  # as the worker signed it


def test_double_close_pays_nothing_more_and_period_is_locked(env):
    env.reward("e1", at(3), 5_000_000, HALF)
    close(env, NOV)
    rows_before, record = env.count(), closes(env.engine, "USD")
    again = close(env, NOV)
    assert again.already_closed and again.paid_total == 0
    assert env.count() == rows_before and closes(env.engine, "USD") == record
    with pytest.raises(DBAPIError):
        with env.engine.begin() as connection:
            connection.execute(text("UPDATE period_closes SET paid_total = 0"))
    with pytest.raises(DBAPIError):
        with env.engine.begin() as connection:
            connection.execute(text("DELETE FROM period_closes"))


def test_threshold_and_remainder_carry_forward(env):
    env.reward("e1", at(3), 3_000_000, {"artist:van-gogh": Fraction(1)})
    env.reward("e2", at(3), 7_000_000, {"artist:monet": Fraction(1)})
    nov = close(env, NOV, minimum=5_000_000)
    reasons = {d.account: (d.reason, d.paid, d.carried) for d in nov.closed[0].decisions}
    assert reasons == {"artist:monet": ("paid", 7_000_000, 0),
                       "artist:van-gogh": ("below-minimum", 0, 3_000_000)}
    env.reward("e3", at(2, 12), 16_010_000, {"artist:van-gogh": Fraction(1, 8), "artist:monet": Fraction(7, 8)})  # 2.00125
    dec = close(env, DEC, minimum=5_000_000)
    (decision,) = [d for d in dec.closed[0].decisions if d.account == "artist:van-gogh"]
    assert (decision.paid, decision.carried) == (5_000_000, 1_250)
    (statement,), _ = statements_for(env.engine, DEC, "USD", ["artist:van-gogh"])
    assert (statement.opening, statement.credits.total, statement.payout) == (3_000_000, 2_001_250, 5_000_000)
    assert statement.carried_forward == statement.closing == env.balance("artist:van-gogh") == 1_250


def test_reversal_before_close_nets_out(env):
    env.reward("e1", at(3), 4_000_000, HALF)
    env.reward("e2", at(5), 1_000_000, HALF)
    reversed_ = reverse_event(env.ledger, eid("e1"), "withdrawn by the platform")
    assert {t.kind for t in reversed_} == {"reversal"} and all(t.reverses_id for t in reversed_)
    assert all(t.memo == "withdrawn by the platform" for t in reversed_)
    with pytest.raises(TransferError, match="already reversed"):
        reverse_event(env.ledger, eid("e1"), "again")
    with pytest.raises(TransferError, match="no reward transfers"):
        reverse_event(env.ledger, "nope", "typo")
    close(env, NOV)
    assert env.balance("payouts:USD") == 1_000_000
    (statement,), summary = statements_for(env.engine, NOV, "USD", ["artist:van-gogh"])
    assert (statement.credits.total, statement.reversals.total, statement.payout) == (2_500_000, 2_000_000, 500_000)
    assert summary.reconciles


def test_reversal_after_close_goes_negative_and_is_never_paid(env):
    env.reward("e1", at(3), 4_000_000, HALF)
    close(env, NOV)
    reverse_event(env.ledger, eid("e1"), "fraud")
    assert env.balance("artist:van-gogh") == -2_000_000
    env.reward("e2", at(3, 12), 1_000_000, HALF)
    dec = close(env, DEC)
    (decision,) = [d for d in dec.closed[0].decisions if d.account == "artist:van-gogh"]
    assert (decision.reason, decision.paid, decision.carried) == ("negative", 0, -1_500_000)
    (statement,), summary = statements_for(env.engine, DEC, "USD", ["artist:van-gogh"])
    assert statement.reversals.total == 2_000_000 and statement.lines[0].late  # counted in December
    assert statement.closing == -1_500_000 and summary.reconciles
    (nov,), _ = statements_for(env.engine, NOV, "USD", ["artist:van-gogh"])
    assert (nov.payout, nov.closing, nov.reversals.total) == (2_000_000, 0, 0)  # November unchanged


def test_late_event_lands_in_the_next_open_period(env):
    env.reward("e1", at(3), 1_000_000, HALF)
    close(env, NOV)
    env.reward("late", at(29), 3_000_000, HALF, content="a late cat")
    (nov,), _ = statements_for(env.engine, NOV, "USD", ["artist:van-gogh"])
    assert nov.credits.total == 500_000 and nov.closing == 0
    (dec,), _ = statements_for(env.engine, DEC, "USD", ["artist:van-gogh"])
    assert dec.credits.total == 1_500_000 and dec.lines[0].late and dec.lines[0].content == "a late cat"
    close(env, DEC)
    assert env.balance("payouts:USD") == 4_000_000


def test_earlier_open_periods_close_together_in_order(env):
    env.reward("e1", at(3, 10), 1_000_000, HALF)
    env.reward("e2", at(3, 12), 3_000_000, HALF)
    result = close(env, DEC)
    assert [(p.period.id, len(p.paid)) for p in result.closed] == [("2026-10", 2), ("2026-11", 0), ("2026-12", 2)]
    listed = list_payouts(env.engine)
    assert [r["period"] for r in listed] == ["2026-12", "2026-11", "2026-10"]
    assert [p["amount"] for p in listed[0]["payouts"]] == [1_500_000, 1_500_000]
    for period in ("2026-10", "2026-11", "2026-12"):
        assert statements_for(env.engine, parse_period(period), "USD")[1].reconciles
    assert close(env, NOV).already_closed


def test_refusals(env):
    with pytest.raises(PeriodLockedError, match="no USD transfers yet"):
        close(env, parse_period("0001-01"))  # an empty ledger has no period to close
    env.reward("e1", at(3), 1_000_000, HALF)
    with pytest.raises(PeriodLockedError, match="has not ended"):
        close_period(env.ledger, "2026-11", "USD", now=datetime(2026, 11, 24, tzinfo=UTC))
    with pytest.raises(PeriodLockedError, match="before the ledger's first USD period \\(2026-11\\)"):
        close(env, parse_period("2016-10"))
    close(env, NOV)
    with pytest.raises(PeriodLockedError, match="closed monthly"):
        close(env, parse_period("2026-W50"))
    with pytest.raises(PeriodLockedError, match="before the ledger's first"):
        close(env, parse_period("2026-09"))  # never "already closed": it was never part of the ledger
    assert [r["period"] for r in list_payouts(env.engine)] == ["2026-11"]


def test_two_racing_closes_of_different_cadences_cannot_both_land(env, monkeypatch):
    """A weekly close that lands while a monthly one is being planned wins; the monthly one
    is refused under the lock, so one currency never holds two cadences."""
    import ledger.payouts.close as closing

    env.reward("e1", at(3), 1_000_000, HALF)
    real_plan, raced = closing.plan_close, []

    def plan_then_race(*args, **kwargs):
        plans = real_plan(*args, **kwargs)
        if not raced:
            raced.append(True)
            close(env, parse_period("2026-W45"))
        return plans

    monkeypatch.setattr(closing, "plan_close", plan_then_race)
    with pytest.raises(PeriodLockedError, match="closed weekly"):
        close(env, NOV)
    assert {r["cadence"] for r in list_payouts(env.engine)} == {"weekly"}


def test_a_close_planned_on_a_stale_head_is_planned_again(env, monkeypatch):
    """A reward (or a rival close) that lands between planning and writing makes the close re-plan."""
    import ledger.payouts.close as closing

    env.reward("e1", at(3), 1_000_000, HALF)
    real_plan, calls = closing.plan_close, []

    def plan_then_race(*args, **kwargs):
        plans = real_plan(*args, **kwargs)
        if not calls:
            env.reward("racer", at(4), 2_000_000, HALF)  # booked after the plan was made
        calls.append(1)
        return plans

    monkeypatch.setattr(closing, "plan_close", plan_then_race)
    close(env, NOV)
    assert len(calls) == 2 and env.balance("payouts:USD") == 3_000_000
    (nov,), summary = statements_for(env.engine, NOV, "USD", ["artist:van-gogh"])
    assert nov.credits.count == 2 and nov.closing == 0 and summary.reconciles
