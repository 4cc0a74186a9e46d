"""The two services as Kafka streams: what is consumed, what is produced, where it commits.

    generation.events ──► [admit → attribute → sign] ──► attribution.results      (worker)
    attribution.results ──► [accept → book in the ledger]                           (writer)

Everything that cannot be processed goes to `<topic>.dlq` with its reason. Offsets are
committed only after the effect: the worker after its results are acknowledged by the
broker, the writer after the database transaction. This module knows Kafka and nothing
of SQL or models: the logic arrives as tasks (`WorkerTask`, `WriterTask`), assembled by
`commands/wiring.py`; `services.ingest` runs the same tasks over a file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from services.kafka import dlq_topic, ensure_topics, make_consumer, make_producer
from services.observability import StreamMetrics
from services.stream import Message, Outcome, RetryPolicy, StreamProcessor, sink_steps, transform_steps

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


def _raw(value: bytes) -> bytes:
    """Decoding is the tasks' first step (admission, acceptance), where failures are isolated."""
    return value


def worker_stream(
    settings: KafkaSettings,
    task: Callable[[list[Message]], Sequence[Outcome]],
    finish: Callable[[Message, Any], Outcome] | None = None,
    *,
    batch_size: int = 32,
    batch_wait_s: float = 0.5,
    retry: RetryPolicy = RetryPolicy(attempts=None, backoff_s=0.5, max_backoff_s=30.0),
    max_in_flight: int = 2,
) -> StreamProcessor:
    """generation.events → attribution.results; `task` is a `WorkerTask` (admit, skip what
    is recorded, attribute) and `finish` its `finish` (sign, encode).

    Pipelined: while a batch renders in the task thread, the loop's thread finishes the
    previous one (`finish`), publishes and commits it; up to `max_in_flight` batches are
    taken but not committed, and batches are committed in order, each after its acks."""
    ensure_topics(settings.bootstrap, settings.all_topics(), settings.partitions)
    producer = make_producer(settings.bootstrap, client_id="fairsplit-attribution", max_request_size=MAX_MESSAGE_BYTES)
    return StreamProcessor(
        _consumer(settings, WORKER_GROUP), [settings.events],
        lambda ctx: transform_steps(ctx, decode=_raw, process=task, producer=producer,
                                    output_topic=settings.results, batch_size=batch_size,
                                    batch_wait_s=batch_wait_s, retry=retry,
                                    finish=finish, max_in_flight=max_in_flight if finish else 1),
        service="attribution-worker",
        metrics=StreamMetrics("attribution-worker", port=settings.metrics_port),
        close_with=[producer],
    )


def writer_stream(
    settings: KafkaSettings,
    task: Callable[[list[Message]], Sequence[Outcome]],
    *,
    batch_size: int = 64,
    batch_wait_s: float = 0.2,
    retry: RetryPolicy = RetryPolicy(attempts=None, backoff_s=0.5, max_backoff_s=30.0),
) -> StreamProcessor:
    """attribution.results → the ledger; `task` is a `WriterTask` (accept, book, checkpoint).
    Transient failures (an unreachable database) are retried until they pass or the
    service stops: a results record is never dead-lettered for an outage."""
    ensure_topics(settings.bootstrap, settings.all_topics(), settings.partitions)
    producer = make_producer(settings.bootstrap, client_id="fairsplit-ledger")
    return StreamProcessor(
        _consumer(settings, WRITER_GROUP), [settings.results],
        lambda ctx: sink_steps(ctx, decode=_raw, effect=task, producer=producer,
                               batch_size=batch_size, batch_wait_s=batch_wait_s, retry=retry),
        service="ledger-writer",
        metrics=StreamMetrics("ledger-writer", port=settings.metrics_port),
        close_with=[producer],
    )


def emit(settings: KafkaSettings, records: Sequence[bytes], keys: Sequence[bytes]) -> int:
    """Publish raw event records to generation.events (key = event_id) and wait for the acks."""
    return emit_to(settings, settings.events, records, keys)


def emit_to(settings: KafkaSettings, topic: str, records: Sequence[bytes], keys: Sequence[bytes | None]) -> int:
    """Publish raw records to one of the services' input topics and wait for the acks."""
    ensure_topics(settings.bootstrap, settings.all_topics(), settings.partitions)
    producer = make_producer(settings.bootstrap, client_id="fairsplit-emit", max_request_size=MAX_MESSAGE_BYTES)
    try:
        futures = [producer.send(topic, key=k, value=v) for k, v in zip(keys, records)]
        for future in futures:
            future.get(timeout=60)
    finally:
        producer.close()
    return len(futures)
