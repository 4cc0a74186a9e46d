"""Payout periods: monthly by default, ISO weeks and quarters when configured.

A period is written so that its id says its cadence:
- monthly   `2026-11`   (the calendar month, UTC)
- weekly    `2026-W47`  (the ISO 8601 week: Monday 00:00 UTC to the next Monday)
- quarterly `2026-Q4`   (October to December, UTC)

Invariants:
  1. `start` is inclusive and `end` exclusive, both UTC; consecutive periods of one
     cadence tile time without gaps or overlaps (`p.next().start == p.end`).
  2. `period_of(moment, cadence)` is the one period of that cadence containing `moment`.
  3. Periods of one cadence are totally ordered by `start`; comparing periods of
     different cadences is an error (one ledger closes in one cadence).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from datetime import UTC, date, datetime, timedelta

from ledger.errors import LedgerError

CADENCES = ("monthly", "weekly", "quarterly")
DEFAULT_CADENCE = "monthly"

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q(\d)$")


class PeriodError(LedgerError, ValueError):
    """A period id or cadence that cannot be understood."""


@dataclass(frozen=True, order=False)
class Period:
    """One payout period: its cadence, its id and the UTC instants it spans [start, end)."""

    cadence: str
    id: str
    start: datetime
    end: datetime

    def __str__(self) -> str:
        return self.id

    def contains(self, moment: datetime) -> bool:
        return self.start <= as_utc(moment) < self.end

    def next(self) -> Period:
        return period_of(self.end, self.cadence)

    def previous(self) -> Period:
        return period_of(self.start - timedelta(microseconds=1), self.cadence)

    def _key(self, other: Period) -> tuple[datetime, datetime]:
        if not isinstance(other, Period):
            return NotImplemented
        if other.cadence != self.cadence:
            raise PeriodError(f"Cannot compare {self.cadence} period {self.id} with {other.cadence} period {other.id}.")
        return self.start, other.start

    def __lt__(self, other: Period) -> bool:
        mine, theirs = self._key(other)
        return mine < theirs

    def __le__(self, other: Period) -> bool:
        mine, theirs = self._key(other)
        return mine <= theirs

    def __gt__(self, other: Period) -> bool:
        mine, theirs = self._key(other)
        return mine > theirs

    def __ge__(self, other: Period) -> bool:
        mine, theirs = self._key(other)
        return mine >= theirs


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive datetime (as SQLite returns it) is taken as UTC."""
    if not isinstance(moment, datetime):
        raise PeriodError(f"{moment!r} is not a datetime.")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def check_cadence(cadence: str) -> str:
    if cadence not in CADENCES:
        raise PeriodError(f"Cadence {cadence!r} is not one of {', '.join(CADENCES)}.")
    return cadence


@lru_cache(maxsize=1024)
def _month(year: int, month: int) -> Period:
    start = _at(date(year, month, 1))
    end = _at(date(year + month // 12, month % 12 + 1, 1))
    return Period("monthly", f"{year:04d}-{month:02d}", start, end)


@lru_cache(maxsize=1024)
def _quarter(year: int, quarter: int) -> Period:
    first = _month(year, 3 * quarter - 2)
    end = _month(year, 3 * quarter).end
    return Period("quarterly", f"{year:04d}-Q{quarter}", first.start, end)


@lru_cache(maxsize=1024)
def _week(year: int, week: int) -> Period:
    start = _at(date.fromisocalendar(year, week, 1))
    return Period("weekly", f"{year:04d}-W{week:02d}", start, start + timedelta(days=7))


def parse_period(text: str) -> Period:
    """`2026-11`, `2026-W47` or `2026-Q4` -> the Period it names, or a PeriodError."""
    cleaned = text.strip().upper() if isinstance(text, str) else ""
    try:
        if match := _MONTH.match(cleaned):
            year, month = int(match[1]), int(match[2])
            if not 1 <= month <= 12:
                raise PeriodError(f"Period {text!r} names month {month}; months run from 01 to 12.")
            return _month(year, month)
        if match := _WEEK.match(cleaned):
            year, week = int(match[1]), int(match[2])
            try:
                return _week(year, week)
            except ValueError:
                raise PeriodError(f"Period {text!r} names week {week}, which ISO year {year} does not have.") from None
        if match := _QUARTER.match(cleaned):
            year, quarter = int(match[1]), int(match[2])
            if not 1 <= quarter <= 4:
                raise PeriodError(f"Period {text!r} names quarter {quarter}; quarters run from Q1 to Q4.")
            return _quarter(year, quarter)
    except (ValueError, OverflowError) as exc:
        if isinstance(exc, PeriodError):
            raise
        raise PeriodError(f"Period {text!r} is out of range.") from None
    raise PeriodError(
        f"Period {text!r} is not a period id: write a month as 2026-11, an ISO week as 2026-W47 or a quarter as 2026-Q4."
    )


def period_of(moment: datetime, cadence: str = DEFAULT_CADENCE) -> Period:
    """The period of `cadence` that contains `moment` (UTC); PeriodError past year 9999."""
    moment = as_utc(moment)
    check_cadence(cadence)
    try:
        if cadence == "monthly":
            return _month(moment.year, moment.month)
        if cadence == "quarterly":
            return _quarter(moment.year, (moment.month - 1) // 3 + 1)
        year, week, _ = moment.date().isocalendar()
        return _week(year, week)
    except (ValueError, OverflowError):  # the period ends after 9999-12-31
        raise PeriodError(f"The period of {moment.date().isoformat()} ends after year 9999, out of range.") from None


def periods_between(first: Period, last: Period) -> list[Period]:
    """`first`, its successors, …, `last` (empty when `last` comes before `first`)."""
    found = []
    current = first
    while current <= last:
        found.append(current)
        current = current.next()
    return found
