"""A close costs what is new: the rows of its own period plus the balances the last close
carried, whatever the history before it; what it carried is in the log, and verifies."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

from ledger.payouts.close_entries import carried_by, close_entry_rows, parse_close_entry
from ledger.payouts.close import close_period
from ledger.payouts.periods import parse_period
from ledger.statements.export import statements_for
from tests.payouts.reads import transfer_rows_read
from tests.payouts.support import MODEL

LATER = datetime(2028, 1, 1, tzinfo=UTC)
SHARES = [{"artist:a": Fraction(1, 2), "artist:b": Fraction(1, 3), MODEL: Fraction(1, 6)},
          {"artist:c": Fraction(3, 4), MODEL: Fraction(1, 4)}]
EVENTS_PER_MONTH = 20


def book_month(env, month: int) -> int:
    """Book a month of rewards (2026-01 is month 1); returns the transfers booked."""
    before = env.count()
    for i in range(EVENTS_PER_MONTH):
        env.reward(f"m{month}-{i}", datetime(2026, month, 1 + i, 12, tzinfo=UTC), 1_000_000 + 10_000 * i, SHARES[i % 2])
    return env.count() - before


def test_the_close_of_month_n_reads_its_own_rows_and_the_carried_balances_only(env):
    """Each month is closed after the next one was booked (so the close reads its month, booked
    before the last close, and the next month, booked since): the close of month 6 reads as
    many rows as the close of month 2, not the history."""
    per_month = book_month(env, 1)
    reads = {}
    for month in range(2, 8):
        book_month(env, month)
        with transfer_rows_read(env.engine) as read:
            close_period(env.ledger, parse_period(f"2026-{month - 1:02d}"), "USD", now=LATER)
        reads[month - 1] = read.rows
    history = env.count()
    accounts = 4  # artist:a, artist:b, artist:c and the model: what each close carries
    for month in range(2, 7):
        # the month's rows (booked before the last close), what was booked since that close
        # (the next month, booked before this close), the carried entries, the close's own
        # payouts and entries (counted after the close, its id lookups find what it wrote)
        assert reads[month] <= 2 * per_month + 4 * accounts + 8, (month, reads)
        assert abs(reads[month] - reads[2]) <= 2, reads
    assert history > 7 * per_month > 3 * reads[6]


def test_a_close_records_what_it_carried_as_close_entries(env):
    """One entry per payee: balance = paid + carried; the next period opens with the carried
    balance; the maintained balance is the carried one once nothing else moved."""
    book_month(env, 1)
    result = close_period(env.ledger, parse_period("2026-01"), "USD", minimum=5_000_000, now=LATER)
    with env.engine.connect() as connection:
        entries = [parse_close_entry(row) for row in close_entry_rows(connection, "2026-01", "USD")]
        carried = carried_by(connection, "2026-01", "USD")
    decisions = {d.account: d for d in result.closed[0].decisions}
    assert sorted(entry.account for entry in entries) == sorted(decisions)
    for entry in entries:
        decision = decisions[entry.account]
        assert (entry.balance, entry.paid, entry.carried) == (decision.balance, decision.paid, decision.carried)
        assert entry.balance == entry.paid + entry.carried and carried[entry.account] == entry.carried
        assert env.balance(entry.account) == entry.carried
    assert any(entry.paid == 0 and entry.carried > 0 for entry in entries)  # below the minimum: carried
    book_month(env, 2)
    close_period(env.ledger, parse_period("2026-02"), "USD", minimum=5_000_000, now=LATER)
    statements, summary = statements_for(env.engine, parse_period("2026-02"), "USD")
    assert summary.reconciles and {s.account: s.opening for s in statements} == carried


def test_verify_re_derives_every_close_entry_through_late_rows_reversals_and_multi_period_closes(env):
    from ledger.audit.balances import audit
    from ledger.books.reversals import reverse_event
    from tests.payouts.support import eid

    env.reward("a", datetime(2026, 10, 3, tzinfo=UTC), 4_000_000, SHARES[0])
    env.reward("b", datetime(2026, 12, 3, tzinfo=UTC), 3_000_000, SHARES[1])
    close_period(env.ledger, parse_period("2026-11"), "USD", minimum=2_000_000, now=LATER)  # October and November
    reverse_event(env.ledger, eid("a"), "fraud")  # late: counts in December, goes negative
    env.reward("late", datetime(2026, 11, 20, tzinfo=UTC), 1_000_000, SHARES[0])  # late too
    close_period(env.ledger, parse_period("2026-12"), "USD", now=LATER)
    report = audit(env.engine)
    assert report.ok and report.closes == 3 and report.legacy_closes == 0, report
    with env.engine.connect() as connection:
        december = {e.account: e for e in map(parse_close_entry, close_entry_rows(connection, "2026-12", "USD"))}
    assert december["artist:a"].carried < 0 and december["artist:a"].paid == 0
