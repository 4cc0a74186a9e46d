"""The window of event times the ledger accepts, around its own clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ledger.books.eventtime import EventTimeWindow

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


@pytest.mark.parametrize(("moment", "problem"), [
    (NOW, None),
    (NOW + timedelta(hours=23), None),
    (NOW - timedelta(days=365), None),
    (NOW + timedelta(days=2), "ahead of the ledger's clock"),
    (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), "ahead"),
    (datetime(1970, 1, 1, tzinfo=UTC), "before the earliest time"),
    (datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=1))), "out of range"),
])
def test_an_event_time_is_inside_the_window_or_one_sentence(moment, problem):
    found = EventTimeWindow().problem(moment, NOW)
    assert (found is None) if problem is None else (problem in found and found.endswith("."))


def test_a_configured_start_and_age_narrow_the_window():
    window = EventTimeWindow(max_age=timedelta(days=30), not_before=datetime(2026, 11, 20, tzinfo=UTC))
    assert window.problem(datetime(2026, 11, 19, tzinfo=UTC), NOW) is not None
    assert window.problem(datetime(2026, 11, 21, tzinfo=UTC), NOW) is None
