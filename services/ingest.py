"""Ingest: the pipeline without a broker, for backfills and replays.

Each line of a JSONL file goes event → admission → attribution → ledger, exactly as
through Kafka, and gets a report: recorded, duplicate (already recorded with the same
body: nothing more is paid) or rejected (with its reason, also written to the
dead-letter file). An event id already recorded with a different body is a rejection:
the first one stands. Lines are attributed in batches, like the worker does.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.admission import Admitted, Rejected
from services.contracts import DeadLetterV1, SourceV1


@dataclass(frozen=True)
class LineReport:
    line: int
    event_id: str | None
    status: str  # "recorded" | "duplicate" | "rejected"
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class Ingest:
    """The pipeline's steps as callables (wired in `cli.py`)."""

    admit: Callable[[bytes], Admitted]
    attribute: Callable[[Sequence[Admitted]], Sequence[dict[str, Any]]]
    book: Callable[[dict[str, Any]], str]  # signed result record → "recorded" | "duplicate"
    recorded_body: Callable[[str], str | None]  # event id → body hash it was recorded with
    batch_size: int = 8

    def run(self, lines: Iterable[bytes]) -> Iterator[tuple[LineReport, bytes]]:
        """Report on every non-blank line, in order, with its original bytes."""
        pending: list[tuple[int, bytes, Admitted]] = []
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                admitted = self.admit(raw.rstrip(b"\r\n"))
            except Rejected as exc:
                yield LineReport(number, _event_id(raw), "rejected", str(exc)), raw
                continue
            known = self.recorded_body(admitted.event.event_id)
            if known is not None:
                yield self._known(number, admitted, known), raw
                continue
            pending.append((number, raw, admitted))
            if len(pending) >= self.batch_size:
                yield from self._flush(pending)
        yield from self._flush(pending)

    def _known(self, number: int, admitted: Admitted, known: str) -> LineReport:
        event_id = admitted.event.event_id
        if known == admitted.body_sha256:
            return LineReport(number, event_id, "duplicate", "already recorded with the same body; nothing more is paid")
        return LineReport(number, event_id, "rejected",
                          f"event {event_id} is already recorded with a different body; the first one stands.")

    def _flush(self, pending: list[tuple[int, bytes, Admitted]]) -> Iterator[tuple[LineReport, bytes]]:
        batch, pending[:] = list(pending), []
        if not batch:
            return
        seen: dict[str, str] = {}
        try:
            records = list(self.attribute([a for _, _, a in batch]))
        except Exception:  # noqa: BLE001 - isolate: attribute the lines one by one
            records = None
        for index, (number, raw, admitted) in enumerate(batch):
            event_id = admitted.event.event_id
            if event_id in seen:  # the same event twice in one file
                yield self._known(number, admitted, seen[event_id]), raw
                continue
            try:
                record = records[index] if records is not None else self.attribute([admitted])[0]
                status = self.book(record)
            except Exception as exc:  # noqa: BLE001 - every failure is this line's rejection
                yield LineReport(number, event_id, "rejected", str(exc) or type(exc).__name__), raw
                continue
            seen[event_id] = admitted.body_sha256
            yield LineReport(number, event_id, status), raw


def _event_id(raw: bytes) -> str | None:
    try:
        value = json.loads(raw).get("event_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def dead_letter_line(report: LineReport, raw: bytes, source: str) -> str:
    """A `fairsplit.deadletter.v1` record for a rejected line (source = the file, offset = line)."""
    letter = DeadLetterV1(
        original_base64=base64.b64encode(raw.rstrip(b"\r\n")).decode("ascii"),
        reason=report.reason or "rejected",
        error_class="Rejected",
        source=SourceV1(topic=source[-249:], partition=0, offset=report.line),
        failed_at=datetime.now(UTC),
        service="ingest",
    )
    return letter.model_dump_json(exclude_none=True)
