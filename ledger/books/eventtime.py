"""When an event may have happened, as far as the ledger is concerned.

A platform says when each image was generated (`occurred_at`); the ledger pays it in the
period of that time. Unbounded, one event dated 9999 or 1970 would break or flood every
period close, so an event's time must lie in a window around the ledger's own clock:

    max(now − max_age, not_before) ≤ occurred_at ≤ now + max_ahead

Defaults: up to 366 days old (backfills of a year), at most one day ahead (clock skew),
no fixed start. Admission checks it before any GPU time is spent, and the ledger writer
checks it again with its own clock before booking.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DEFAULT_MAX_AGE = timedelta(days=366)
DEFAULT_MAX_AHEAD = timedelta(days=1)


@dataclass(frozen=True)
class EventTimeWindow:
    max_age: timedelta = DEFAULT_MAX_AGE
    max_ahead: timedelta = DEFAULT_MAX_AHEAD
    not_before: datetime | None = None

    def problem(self, moment: datetime, now: datetime | None = None) -> str | None:
        """Why `moment` is outside the window (one sentence), or None when it is inside."""
        now = now or datetime.now(UTC)
        try:
            moment = moment.astimezone(UTC)
        except (OverflowError, ValueError):
            return "occurred_at is out of range."
        earliest = now - self.max_age
        if self.not_before is not None and self.not_before > earliest:
            earliest = self.not_before
        if moment > now + self.max_ahead:
            return (f"occurred_at {_show(moment)} is more than {_span(self.max_ahead)} ahead of the ledger's clock "
                    f"({_show(now)}).")
        if moment < earliest:
            return f"occurred_at {_show(moment)} is before the earliest time the ledger accepts ({_show(earliest)})."
        return None


def _show(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:g} day{'s' if hours != 24 else ''}" if hours >= 24 else f"{hours:g} hours"
