"""The two services as Kafka streams: what is consumed, what is produced, where it commits.

    generation.events ──► [admit → attribute → sign] ──► attribution.results      (worker)
    attribution.results ──► [accept → book in the ledger]                           (writer)

Everything that cannot be processed goes to `<topic>.dlq` with its reason. Offsets are
committed only after the effect: the worker after its results are acknowledged by the
broker, the writer after the database transaction. This module knows Kafka and nothing
of SQL or models: the logic arrives as callables, wired in `cli.py`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from services.kafka import dlq_topic, ensure_topics, make_consumer, make_producer
from services.observability import StreamMetrics
from services.stream import (
    Computed,
    Done,
    Failure,
    Message,
    Outcome,
    Produce,
    RetryPolicy,
    StreamProcessor,
    TransientError,
    sink_steps,
    transform_steps,
)

log = logging.getLogger("fairsplit.runners")

EVENTS_TOPIC = "generation.events"
RESULTS_TOPIC = "attribution.results"
WORKER_GROUP = "fairsplit-attribution"
WRITER_GROUP = "fairsplit-ledger"
MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # an event may carry an 8 MiB PNG, base64-encoded


@dataclass(frozen=True)
class KafkaSettings:
    """Where and how the services talk to Kafka. `prefix` namespaces topics and groups
    (several deployments, or tests, on one cluster)."""

    bootstrap: str
    partitions: int = 6
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    metrics_port: int | None = None
    prefix: str = ""

    @property
    def events(self) -> str:
        return self.prefix + EVENTS_TOPIC

    @property
    def results(self) -> str:
        return self.prefix + RESULTS_TOPIC

    def all_topics(self) -> list[str]:
        return [self.events, dlq_topic(self.events), self.results, dlq_topic(self.results)]


def _consumer(settings: KafkaSettings, group: str):
    return make_consumer(
        settings.bootstrap, settings.prefix + group,
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=settings.heartbeat_interval_ms,
        fetch_max_bytes=MAX_MESSAGE_BYTES,
        max_partition_fetch_bytes=MAX_MESSAGE_BYTES,
    )


@runtime_checkable
class StagedAttribution(Protocol):
    """An attributor split into the accelerator's work and the CPU's (`Attributor` is one)."""

    def compute(self, batch: Sequence[Any]) -> Sequence[Any]:
        """One result per admitted event, or the exception that refuses that event."""

    def finish(self, admitted: Any, result: Any) -> dict[str, Any]:
        """The signed result record of one computed event."""


def _encode(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()


def attribution_worker(
    settings: KafkaSettings,
    admit: Callable[[bytes], Any],
    attribute: Callable[[list[Any]], Sequence[dict[str, Any]]] | StagedAttribution,
    *,
    batch_size: int = 32,
    batch_wait_s: float = 0.5,
    retry: RetryPolicy = RetryPolicy(),
    max_in_flight: int = 2,
) -> StreamProcessor:
    """generation.events → attribution.results. `admit` raises on a bad event (dead-lettered);
    `attribute` turns a batch of admitted events into signed result records.

    A `StagedAttribution` is pipelined: its `compute` runs in the task thread while the
    loop admits the next events and runs `finish` (signing, encoding) on the previous
    batch, publishes and commits it; up to `max_in_flight` batches are admitted but not
    committed. A plain callable runs each batch whole, one at a time."""
    ensure_topics(settings.bootstrap, settings.all_topics(), settings.partitions)
    producer = make_producer(settings.bootstrap, client_id="fairsplit-attribution", max_request_size=MAX_MESSAGE_BYTES)
    staged = isinstance(attribute, StagedAttribution)

    def process(messages: list[Message]) -> list[Outcome]:
        if staged:
            return [Failure.of(r) if isinstance(r, Exception) else Computed(r)
                    for r in attribute.compute([m.payload for m in messages])]
        return [Produce(_encode(r)) for r in attribute([m.payload for m in messages])]

    def finish(message: Message, result: Any) -> Outcome:
        return Produce(_encode(attribute.finish(message.payload, result)))

    return StreamProcessor(
        _consumer(settings, WORKER_GROUP), [settings.events],
        lambda ctx: transform_steps(ctx, decode=admit, process=process, producer=producer,
                                    output_topic=settings.results, batch_size=batch_size,
                                    batch_wait_s=batch_wait_s, retry=retry,
                                    finish=finish if staged else None,
                                    max_in_flight=max_in_flight if staged else 1),
        service="attribution-worker",
        metrics=StreamMetrics("attribution-worker", port=settings.metrics_port),
        close_with=[producer],
    )


def ledger_writer(
    settings: KafkaSettings,
    accept: Callable[[bytes], Any],
    book: Callable[[Any], str],
    *,
    transient: tuple[type[BaseException], ...] = (),
    book_many: Callable[[list[Any]], Sequence[Any]] | None = None,
    after_batch: Callable[[], None] | None = None,
    batch_size: int = 64,
    batch_wait_s: float = 0.2,
    retry: RetryPolicy = RetryPolicy(attempts=8, backoff_s=0.5, max_backoff_s=30.0),
) -> StreamProcessor:
    """attribution.results → the ledger. `accept` raises on a bad result (dead-lettered);
    `book` writes one accepted result in one transaction. `book_many`, if given, books a
    whole batch (one transaction, each event still all-or-nothing) and returns per result
    its outcome or the exception that refused it; if it raises something else, the batch
    is booked one by one with `book`. Exceptions of a `transient` type (database
    unreachable) are retried with backoff; any other is the message's failure.
    `after_batch()` runs once the batch is booked (the writer signs checkpoints there); its
    failure is logged, never the messages' failure."""
    ensure_topics(settings.bootstrap, settings.all_topics(), settings.partitions)
    producer = make_producer(settings.bootstrap, client_id="fairsplit-ledger")

    def book_batch(messages: list[Message]) -> list[Outcome]:
        if book_many is not None and len(messages) > 1:
            try:
                booked = book_many([message.payload for message in messages])
            except transient as exc:
                raise TransientError(str(exc)) from exc
            except Exception:  # noqa: BLE001 - unexpected: book one by one to pin it on a message
                booked = None
            if booked is not None:
                return [Failure.of(b) if isinstance(b, BaseException) else Done() for b in booked]
        outcomes: list[Outcome] = []
        for message in messages:
            try:
                book(message.payload)
                outcomes.append(Done())
            except transient as exc:
                raise TransientError(str(exc)) from exc
            except Exception as exc:  # noqa: BLE001 - a conflict or a refused result: dead-letter it
                outcomes.append(Failure.of(exc))
        return outcomes

    def effect(messages: list[Message]) -> list[Outcome]:
        outcomes = book_batch(messages)
        if after_batch is not None:
            try:
                after_batch()
            except Exception:  # noqa: BLE001 - the bookings stand; the next batch tries again
                log.exception("after-batch step failed")
        return outcomes

    return StreamProcessor(
        _consumer(settings, WRITER_GROUP), [settings.results],
        lambda ctx: sink_steps(ctx, decode=accept, effect=effect, producer=producer,
                               batch_size=batch_size, batch_wait_s=batch_wait_s, retry=retry),
        service="ledger-writer",
        metrics=StreamMetrics("ledger-writer", port=settings.metrics_port),
        close_with=[producer],
    )


def emit(settings: KafkaSettings, records: Sequence[bytes], keys: Sequence[bytes]) -> int:
    """Publish raw event records to generation.events (key = event_id) and wait for the acks."""
    ensure_topics(settings.bootstrap, settings.all_topics(), settings.partitions)
    producer = make_producer(settings.bootstrap, client_id="fairsplit-emit", max_request_size=MAX_MESSAGE_BYTES)
    try:
        futures = [producer.send(settings.events, key=k, value=v) for k, v in zip(keys, records)]
        for future in futures:
            future.get(timeout=60)
    finally:
        producer.close()
    return len(futures)
