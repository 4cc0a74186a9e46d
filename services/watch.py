"""Following what the pipeline does, for a person at a terminal (`fairsplit up`,
`fairsplit dead-letters --follow`): the dead letters of both services, read from their
topics without joining a group (so the services' own groups are untouched), and the events
the ledger booked, read by a function the caller hands in (no SQL here).

`up`'s loops live here too: `watch_until_stopped` (serve until interrupted) and
`wait_until_recorded` (the demo: until its events are booked, or a deadline). Each checks
the stack's processes first, so a service that died ends the run with its sentence.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from kafka import KafkaConsumer, TopicPartition

from ledger.money import format_amount
from services.contracts import ContractError, DeadLetterV1, parse_dead_letter
from services.dead_letters import describe

#: the events booked after a moment, oldest first (`ledger.books.events.recorded_since`'s rows)
BookedSince = Callable[[datetime], list[dict[str, Any]]]


class DeadLetterTail:
    """Every dead letter of `topics`, from their beginning, as it arrives. Topics that do
    not exist yet (the services create them when they start) are picked up once they do."""

    def __init__(self, bootstrap: str, topics: Sequence[str]) -> None:
        self.topics = list(topics)
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                      client_id="fairsplit-watch", request_timeout_ms=30_000)
        self._assigned: list[TopicPartition] = []

    def _assign(self) -> None:
        wanted = {tp.topic for tp in self._assigned}
        fresh = []
        for topic in self.topics:
            if topic in wanted:
                continue
            partitions = self.consumer.partitions_for_topic(topic)
            fresh += [TopicPartition(topic, p) for p in partitions or ()]
        if fresh:
            self._assigned += fresh
            self.consumer.assign(self._assigned)
            self.consumer.seek_to_beginning(*fresh)

    def poll(self, timeout_ms: int = 200) -> Iterator[DeadLetterV1 | bytes]:
        """The letters that arrived (a record that is not a dead letter comes back as bytes)."""
        if len({tp.topic for tp in self._assigned}) < len(self.topics):
            self._assign()
        if not self._assigned:
            return
        for records in self.consumer.poll(timeout_ms=timeout_ms).values():
            for record in records:
                try:
                    yield parse_dead_letter(record.value)
                except ContractError:
                    yield record.value

    def close(self) -> None:
        self.consumer.close(autocommit=False)


class PipelineWatch:
    """What `fairsplit up` shows while it runs: a line per event booked since it started and
    per dead letter of `topics` (each letter also appended to the JSONL file `dead_letters`)."""

    def __init__(self, booked_since: BookedSince, bootstrap: str, topics: Sequence[str], dead_letters: Path) -> None:
        self.booked_since, self.path = booked_since, dead_letters
        self.since = datetime.now(UTC)
        self.tail = DeadLetterTail(bootstrap, topics)
        dead_letters.parent.mkdir(parents=True, exist_ok=True)

    def lines(self) -> list[str]:
        """The lines of what happened since the last call."""
        lines = []
        for event in self.booked_since(self.since):
            self.since = event["recorded_at"]
            paid = ", ".join(f"{account} {format_amount(amount, event['currency'])}"
                             for account, amount in event["payees"].items())
            lines.append(f"booked {event['event_id']}: {format_amount(event['reward_amount'], event['currency'])} "
                         f"{event['currency']} → {paid}")
        for letter in self.tail.poll():
            if isinstance(letter, bytes):
                continue
            with self.path.open("ab") as handle:
                handle.write(letter.to_json_bytes() + b"\n")
            lines.append(describe(letter))
        return lines

    def close(self) -> None:
        self.tail.close()


class Alive(Protocol):
    def check_alive(self) -> None: ...  # raises RuntimeError naming a child that exited


def watch_until_stopped(stack: Alive, watch: PipelineWatch, show: Callable[[list[str]], None],
                        poll_s: float = 0.5) -> None:
    """Show what the pipeline does until interrupted (KeyboardInterrupt) or a service dies."""
    while True:
        stack.check_alive()
        show(watch.lines())
        time.sleep(poll_s)


def wait_until_recorded(stack: Alive, watch: PipelineWatch, show: Callable[[list[str]], None],
                        recorded: Callable[[], int], total: int, timeout_s: float,
                        progress: Callable[[int], None] = lambda done: None, poll_s: float = 0.3) -> int:
    """Show what the pipeline does until `recorded()` reaches `total` or `timeout_s` passes;
    returns the last count."""
    deadline = time.monotonic() + timeout_s
    landed = 0
    while landed < total and time.monotonic() < deadline:
        stack.check_alive()
        landed = recorded()
        progress(landed)
        show(watch.lines())
        time.sleep(poll_s)
    show(watch.lines())
    return landed
