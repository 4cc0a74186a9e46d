"""Periods: ids, boundaries, succession, and clear errors for what is not a period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.payouts.periods import (
    CADENCES,
    PeriodError,
    parse_period,
    period_of,
    periods_between,
)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "cadence", "start", "end"),
    [
        ("2026-11", "monthly", at(2026, 11, 1), at(2026, 12, 1)),
        ("2026-12", "monthly", at(2026, 12, 1), at(2027, 1, 1)),
        ("2026-W47", "weekly", at(2026, 11, 16), at(2026, 11, 23)),
        ("2026-w01", "weekly", at(2025, 12, 29), at(2026, 1, 5)),
        ("2026-Q4", "quarterly", at(2026, 10, 1), at(2027, 1, 1)),
        ("2026-Q1", "quarterly", at(2026, 1, 1), at(2026, 4, 1)),
    ],
)
def test_parse_gives_cadence_and_bounds(text, cadence, start, end):
    period = parse_period(text)
    assert (period.cadence, period.start, period.end) == (cadence, start, end)
    assert parse_period(period.id) == period


def test_period_of_a_timestamp():
    moment = at(2026, 11, 24, 12)
    assert period_of(moment).id == "2026-11"
    assert period_of(moment, "weekly").id == "2026-W48"
    assert period_of(moment, "quarterly").id == "2026-Q4"
    # Naive datetimes (SQLite) are UTC; other zones are converted first.
    assert period_of(datetime(2026, 11, 30, 23, 59)).id == "2026-11"
    assert period_of(datetime(2026, 12, 1, 0, 30, tzinfo=UTC) + timedelta(hours=0)).id == "2026-12"


def test_next_previous_and_ranges():
    assert parse_period("2026-12").next().id == "2027-01"
    assert parse_period("2026-Q1").previous().id == "2025-Q4"
    assert parse_period("2026-W53").id == "2026-W53"  # 2026 has 53 ISO weeks
    assert parse_period("2026-W53").next().id == "2027-W01"
    ids = [p.id for p in periods_between(parse_period("2026-10"), parse_period("2027-01"))]
    assert ids == ["2026-10", "2026-11", "2026-12", "2027-01"]
    assert periods_between(parse_period("2026-11"), parse_period("2026-10")) == []


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2026-13", "months run from 01 to 12"),
        ("2026-Q5", "quarters run from Q1 to Q4"),
        ("2025-W53", "does not have"),
        ("November", "not a period id"),
        ("2026/11", "not a period id"),
    ],
)
def test_bad_period_ids_are_one_clear_sentence(text, words):
    with pytest.raises(PeriodError, match=words):
        parse_period(text)


def test_cadences_do_not_mix():
    with pytest.raises(PeriodError, match="Cannot compare"):
        _ = parse_period("2026-11") < parse_period("2026-Q4")
    with pytest.raises(PeriodError, match="Cadence"):
        period_of(at(2026, 1, 1), "daily")


@given(
    moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 1), timezones=st.just(UTC)),
    cadence=st.sampled_from(CADENCES),
)
def test_periods_tile_time(moment, cadence):
    period = period_of(moment, cadence)
    assert period.contains(moment)
    assert period.next().start == period.end
    assert period.previous().end == period.start
    assert parse_period(period.id) == period
