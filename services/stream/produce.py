"""ProduceResults and `publish`: records out to the broker, every ack awaited before the
batch moves on (the commit must never pass an unacknowledged effect)."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from kafka.errors import KafkaError

from ledger.invariants import invariant
from services.stream.messages import Computed, Interrupted, Item, Produce, RetryPolicy, reason_of
from services.stream.step import Forward, ProcessingStep, StreamContext

log = logging.getLogger("fairsplit.stream")


def publish(producer: "Producer", records: list[tuple[str, bytes | None, bytes]], context: StreamContext,
            ack_timeout_s: float, retry: RetryPolicy = RetryPolicy(attempts=None, backoff_s=0.5, max_backoff_s=30.0)) -> None:
    """Send every (topic, key, value) and wait for all acks; while the broker cannot take
    them, log one line per attempt and send again after a backoff (duplicates are harmless:
    every effect downstream is idempotent), until they are acked or the stream stops."""
    attempt = 0
    while records:
        attempt += 1
        try:
            futures = [producer.send(topic, key=key, value=value) for topic, key, value in records]
            for future in futures:
                future.get(timeout=ack_timeout_s)
            return
        except KafkaError as exc:
            log.warning("the broker did not take the records, sending again", extra={
                "reason": reason_of(exc), "count": len(records), "attempt": attempt})
            if retry.last(attempt):
                raise
            if context.stopping.wait(retry.delay(attempt)):
                raise Interrupted(f"stopped while {len(records)} records waited for the broker") from None


class Producer(Protocol):
    """What the publishing steps need of a producer: kafka-python's `KafkaProducer`, or a
    local one (e.g. dead letters of a file written next to it, `services.ingest`)."""

    def send(self, topic: str, key: bytes | None = None, value: bytes | None = None) -> Any: ...


class ProduceResults(Forward):
    """Publish `Produce` outcomes to `topic` and wait for every ack before passing the batch on."""

    def __init__(self, producer: Producer, topic: str, next: ProcessingStep, context: StreamContext,
                 ack_timeout_s: float = 60.0) -> None:
        self.producer, self.topic, self.next, self.context = producer, topic, next, context
        self.ack_timeout_s = ack_timeout_s

    def submit(self, items: list[Item]) -> None:
        invariant(not any(isinstance(o, Computed) for _, o in items),
                  "a Computed outcome reached ProduceResults: the chain needs a Finish step")
        records = [(self.topic, outcome.key if outcome.key is not None else message.key, outcome.value)
                   for message, outcome in items if isinstance(outcome, Produce)]
        publish(self.producer, records, self.context, self.ack_timeout_s)
        self.next.submit(items)
