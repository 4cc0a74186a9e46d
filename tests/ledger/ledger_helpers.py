"""Constants shared by the ledger tests (a uniquely named module: `conftest` is ambiguous)."""

from __future__ import annotations

from datetime import UTC, datetime

WHEN = datetime(2026, 11, 24, 12, 0, 0, 123456, tzinfo=UTC)
