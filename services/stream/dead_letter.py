"""DeadLetter: each `Failure` to `<source topic>.dlq` as a `fairsplit.deadletter.v1`, acked
before the batch moves on to the commit."""

from __future__ import annotations

import base64
import logging
from datetime import datetime, timezone

from services.contracts import DeadLetterV1
from services.kafka import dlq_topic
from services.stream.messages import Failure, Item, Message
from services.stream.produce import Producer, publish
from services.stream.step import Forward, ProcessingStep, StreamContext

log = logging.getLogger("fairsplit.stream")


class DeadLetter(Forward):
    """Publish each `Failure` as a `DeadLetterV1` to `<source topic>.dlq`, then pass the batch on."""

    def __init__(self, producer: Producer, context: StreamContext, next: ProcessingStep,
                 ack_timeout_s: float = 60.0) -> None:
        self.producer, self.context, self.next, self.ack_timeout_s = producer, context, next, ack_timeout_s

    def submit(self, items: list[Item]) -> None:
        records = []
        for message, outcome in items:
            if isinstance(outcome, Failure):
                letter = dead_letter(message, outcome, self.context.service)
                records.append((dlq_topic(message.topic), message.key, letter.to_json_bytes()))
                log.warning("dead-lettered", extra={"where": message.where, "reason": outcome.reason,
                                                    "error_class": outcome.error_class})
        publish(self.producer, records, self.context, self.ack_timeout_s)
        if self.context.metrics and records:
            self.context.metrics.dead_lettered.inc(len(records))
        self.next.submit(items)


def dead_letter(message: Message, failure: Failure, service: str) -> DeadLetterV1:
    return DeadLetterV1(
        original_base64=base64.b64encode(message.value or b"").decode("ascii"),
        key_base64=base64.b64encode(message.key).decode("ascii") if message.key is not None else None,
        reason=failure.reason[:2000], error_class=failure.error_class[:200],
        source={"topic": message.topic, "partition": message.partition, "offset": message.offset},
        failed_at=datetime.now(timezone.utc), service=service, attempts=failure.attempts,
    )
