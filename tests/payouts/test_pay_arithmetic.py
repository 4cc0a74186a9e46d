"""Pure payout arithmetic and statements: rounding, thresholds, carry-forward, late rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.payouts.arithmetic import (
    CloseMark,
    Timeline,
    decide,
    minor_unit_micros,
    period_deltas,
    plan_payouts,
)
from ledger.payouts.periods import parse_period
from ledger.statements.lines import EventInfo, build_statements, summarise

NOV, DEC = parse_period("2026-11"), parse_period("2026-12")


def test_minor_units_in_micro_units():
    assert minor_unit_micros("USD") == 10_000
    assert minor_unit_micros("JPY") == 1_000_000
    assert minor_unit_micros("BHD") == 1_000


def test_remainder_below_a_cent_carries_forward():
    decision = decide("artist:a", 12_345_678, "USD")  # 12.345678 USD
    assert (decision.paid, decision.carried, decision.reason) == (12_340_000, 5_678, "paid")


def test_jpy_rounds_to_whole_yen():
    assert decide("artist:a", 1_999_999, "JPY").paid == 1_000_000


def test_threshold_compares_the_payable_amount():
    assert decide("artist:a", 9_999_999, "USD", minimum=10_000_000).reason == "below-minimum"
    assert decide("artist:a", 9_999_999, "USD", minimum=10_000_000).carried == 9_999_999
    assert decide("artist:a", 10_000_001, "USD", minimum=10_000_000).paid == 10_000_000


def test_negative_and_dust_balances_are_never_paid():
    assert decide("artist:a", -5_000, "USD") .reason == "negative"
    assert decide("artist:a", -5_000, "USD").carried == -5_000
    assert decide("artist:a", 9_999, "USD").reason == "nothing"


def test_only_payees_are_planned():
    plan = plan_payouts({"platform:acme": -50, "payouts:USD": 10, "model:sd": 30_000, "artist:b": 20_000}, "USD")
    assert [d.account for d in plan] == ["artist:b", "model:sd"]
    with pytest.raises(ValueError, match="non-negative"):
        plan_payouts({}, "USD", minimum=-1)


@given(balance=st.integers(-10**12, 10**12), minimum=st.integers(0, 10**9),
       currency=st.sampled_from(["USD", "JPY", "BHD"]))
def test_paid_plus_carried_is_the_balance(balance, minimum, currency):
    decision = decide("artist:a", balance, currency, minimum)
    assert decision.paid + decision.carried == balance
    assert decision.paid >= 0 and decision.paid % minor_unit_micros(currency) == 0
    assert decision.paid == 0 or decision.paid >= minimum
    assert 0 <= decision.carried < minor_unit_micros(currency) or decision.paid == 0


def row(seq, when, debit, credit, amount, kind="reward", event_id=None):
    return {"seq": seq, "event_id": event_id or f"e{seq}", "kind": kind, "debit_account": debit,
            "credit_account": credit, "amount": amount, "occurred_at": when, "memo": None}


def test_late_transfers_land_in_the_next_open_period():
    timeline = Timeline("monthly", [CloseMark(NOV, through_seq=3)])
    nov = datetime(2026, 11, 20, tzinfo=UTC)
    assert timeline.effective_period(2, nov) == (NOV, False)
    assert timeline.effective_period(4, nov) == (DEC, True)  # appended after November closed
    assert timeline.effective_period(4, datetime(2026, 10, 1, tzinfo=UTC)) == (DEC, True)
    assert timeline.effective_period(2, datetime(2026, 12, 2, tzinfo=UTC)) == (DEC, False)
    rows = [row(1, nov, "platform:p", "artist:a", 100), row(4, nov, "platform:p", "artist:a", 7)]
    for r in rows:
        r["effective"] = timeline.effective_period(r["seq"], r["occurred_at"])[0]
    assert period_deltas(rows) == {NOV: {"artist:a": 100}, DEC: {"artist:a": 7}}


def test_statement_adds_up_and_shows_late_lines():
    nov, dec = datetime(2026, 11, 3, 9, tzinfo=UTC), datetime(2026, 12, 5, tzinfo=UTC)
    rows = [
        row(1, nov, "platform:p", "artist:a", 2_000_000),
        row(2, nov, "platform:p", "model:sd", 1_000_000, event_id="e1"),
        row(3, nov, "artist:a", "payouts:USD", 2_000_000, kind="payout", event_id="payout:2026-11:USD"),
        row(4, nov, "platform:p", "artist:a", 500_000, event_id="late"),        # after the close
        row(5, dec, "platform:p", "artist:a", 1_250_000, event_id="e5"),
        row(6, dec, "artist:a", "platform:p", 1_250_000, kind="reversal", event_id="e5"),
    ]
    timeline = Timeline("monthly", [CloseMark(NOV, through_seq=3)])
    events = {"e1": EventInfo("a man", "sd", {"artist:a": "0.6667"}), "late": EventInfo("a cat", "sd", {})}
    (artist, model) = build_statements(DEC, "USD", rows, timeline, events)
    assert artist.account == "artist:a" and model.account == "model:sd"
    assert (artist.opening, artist.credits.count, artist.credits.total) == (0, 2, 1_750_000)
    assert artist.credits_by_model["sd"].total == 500_000  # model known from events for 'late'
    assert (artist.reversals.count, artist.reversals.total, artist.payout) == (1, 1_250_000, 0)
    assert artist.carried_forward == artist.closing == 500_000 and artist.reconciles
    assert [line.late for line in artist.lines] == [True, False, False]
    (nov_artist,) = build_statements(NOV, "USD", rows, timeline, events, accounts=["artist:a"])
    assert nov_artist.payout == 2_000_000 and nov_artist.closing == 0 and nov_artist.reconciles
    assert nov_artist.lines[0].content == "a man" and nov_artist.lines[0].share == "0.6667"
    summary = summarise(NOV, "USD", build_statements(NOV, "USD", rows, timeline, events), True, 2_000_000)
    assert summary.payouts.total == 2_000_000 and summary.reconciles
    assert summary.earnings_per_day == {"2026-11-03": 3_000_000}
    assert summary.top_payees == [("artist:a", 2_000_000), ("model:sd", 1_000_000)]
    assert not summarise(NOV, "USD", [nov_artist], True, ledger_payouts=1).reconciles
