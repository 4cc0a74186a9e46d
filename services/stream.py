"""A Kafka processing loop made of small composable steps (in the manner of getsentry/arroyo).

A stream is a consumer plus a chain of steps; each step has four verbs:

- `submit(item)`: hand an item to the step. Returning does *not* imply it was
  processed: a batching step may hold it until `poll` or `join`.
- `poll()`: let the step make time-based progress (e.g. flush a batch that is old enough).
- `close()`: no more `submit` calls will follow.
- `join(timeout)`: finish everything submitted so far (flush held items downstream).

The chains the services use (`transform_steps`, `sink_steps`):

    Decode → Batch(count, time) → RunTask(process, retries) → [Finish] → ProduceResults → DeadLetter → CommitOffsets
    Decode → Batch(count, time) → RunTask(effect, retries)  →                             DeadLetter → CommitOffsets

`RunTask(max_in_flight=2)` pipelines batches: while batch k+1 runs in the task thread (the
GPU), the loop's thread admits the next messages (`Decode`), finishes batch k (`Finish`:
signing, encoding), publishes it and commits. Batches leave `RunTask` in the order they
came in, so offsets are committed in order, each after its batch's acks.

Items that fail (undecodable, or the user callable says so) flow *through* the chain as
`Failure` outcomes so that offsets stay in order; `DeadLetter` writes them to
`<topic>.dlq` and `CommitOffsets` commits after every effect of the batch is acknowledged.
That is the one commit point: delivery is at-least-once, effects must be idempotent.

The loop (`StreamProcessor`) knows nothing about what the callables do. While a batch runs
(in a worker thread) it pauses the assigned partitions and keeps polling, so a long GPU
batch does not get the member removed from its group. SIGTERM/SIGINT finish the in-flight
batch, commit and return.
"""

from __future__ import annotations

import base64
import logging
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Protocol

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata

from ledger.invariants import invariant
from services.contracts import DeadLetterV1
from services.kafka import dlq_topic
from services.observability import StreamMetrics

__all__ = [
    "Message", "Produce", "Done", "Failure", "Computed", "Outcome", "TransientError", "Interrupted", "RetryPolicy",
    "Producer", "publish", "reason_of",
    "ProcessingStep", "StreamContext", "Decode", "Batch", "RunTask", "Finish", "ProduceResults",
    "DeadLetter", "CommitOffsets", "StreamProcessor", "transform_steps", "sink_steps",
]

log = logging.getLogger("fairsplit.stream")


# --- what flows through a stream -------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One record from Kafka; `payload` is what `Decode` made of `value`."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp_ms: int | None = None
    payload: Any = None

    @classmethod
    def from_record(cls, record: Any) -> "Message":
        return cls(record.topic, record.partition, record.offset, record.key, record.value, record.timestamp)

    @property
    def where(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


@dataclass(frozen=True)
class Produce:
    """Outcome: publish `value` to the output topic, keyed by `key` (default: the input's key)."""

    value: bytes
    key: bytes | None = None


@dataclass(frozen=True)
class Done:
    """Outcome: the effect happened (a sink), or there is nothing to do; `note` says which
    when it matters to a person (e.g. "duplicate")."""

    note: str | None = None


MAX_REASON_CHARS = 300


def reason_of(exc: BaseException) -> str:
    """One line of at most 300 characters saying why (never a stack, never the SQL that
    database errors carry on their later lines)."""
    lines = str(exc).strip().splitlines()
    text = " ".join(lines[0].split()) if lines else type(exc).__name__
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


@dataclass(frozen=True)
class Failure:
    """Outcome: the message cannot be processed. `transient` failures are retried first."""

    reason: str
    error_class: str = "Failure"
    transient: bool = False
    attempts: int = 1

    @classmethod
    def of(cls, exc: BaseException, transient: bool = False) -> "Failure":
        return cls(reason_of(exc), type(exc).__name__, transient)


@dataclass(frozen=True)
class Computed:
    """Outcome of a task that leaves its CPU finishing to a later `Finish` step, which turns
    `value` into the final outcome. Must never reach the publishing or committing steps."""

    value: Any


Outcome = Produce | Done | Failure | Computed




class TransientError(Exception):
    """Raised by a process/effect callable for failures worth retrying (timeouts, OOM, an
    unreachable database, ...)."""


class Interrupted(Exception):
    """The stream is stopping while a batch waits to be retried: nothing of the batch is
    committed, so it is redelivered to whoever consumes the partition next."""


@dataclass(frozen=True)
class RetryPolicy:
    """Retry transient failures `attempts` times in all (None: until they succeed or the
    stream stops — what a sink that must not lose anything wants), with exponential backoff."""

    attempts: int | None = 3
    backoff_s: float = 0.2
    multiplier: float = 2.0
    max_backoff_s: float = 10.0

    def delay(self, attempt: int) -> float:
        return min(self.max_backoff_s, self.backoff_s * self.multiplier ** min(attempt - 1, 64))

    def last(self, attempt: int) -> bool:
        return self.attempts is not None and attempt >= self.attempts


Item = tuple[Message, Outcome | None]  # None: not processed yet


class ProcessingStep(Protocol):
    def submit(self, item: Any) -> None: ...
    def poll(self) -> None: ...
    def close(self) -> None: ...
    def join(self, timeout: float | None = None) -> None: ...


@dataclass
class StreamContext:
    """What steps may ask of the loop: commit offsets, stay in the group, record metrics."""

    service: str
    commit: Callable[[dict[TopicPartition, int]], None]
    keep_alive: Callable[[], None] = lambda: None
    metrics: StreamMetrics | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    running: int = 0  # batches in the task thread: while any runs, the loop polls briefly to pass it on soon


class _Forward:
    """Default `poll/close/join` of a step that keeps nothing: pass the call on."""

    next: ProcessingStep

    def poll(self) -> None:
        self.next.poll()

    def close(self) -> None:
        self.next.close()

    def join(self, timeout: float | None = None) -> None:
        self.next.join(timeout)


# --- steps -----------------------------------------------------------------------------


class Decode(_Forward):
    """Turn each `Message.value` into its payload; a decoder error becomes a `Failure`.

    Decoding is deterministic, so decoder errors are never retried.
    """

    def __init__(self, decode: Callable[[bytes], Any], next: ProcessingStep) -> None:
        self.decode, self.next = decode, next

    def submit(self, message: Message) -> None:
        try:
            item: Item = (replace(message, payload=self.decode(message.value)), None)
        except Exception as exc:  # noqa: BLE001 - any decoder error dead-letters this message only
            item = (message, Failure.of(exc))
        self.next.submit(item)


class Batch:
    """Collect items until `max_size` of them or `max_wait_s` since the first; submit a list."""

    def __init__(self, max_size: int, max_wait_s: float, next: ProcessingStep) -> None:
        self.max_size, self.max_wait_s, self.next = max_size, max_wait_s, next
        self._items: list[Item] = []
        self._since = 0.0

    def submit(self, item: Item) -> None:
        if not self._items:
            self._since = time.monotonic()
        self._items.append(item)
        if len(self._items) >= self.max_size:
            self._flush()

    def poll(self) -> None:
        if self._items and time.monotonic() - self._since >= self.max_wait_s:
            self._flush()
        self.next.poll()

    def _flush(self) -> None:
        items, self._items = self._items, []
        self.next.submit(items)

    def close(self) -> None:
        self.next.close()

    def join(self, timeout: float | None = None) -> None:
        if self._items:
            self._flush()
        self.next.join(timeout)


class RunTask(_Forward):
    """Run `task(messages) -> outcomes` on a batch, in a worker thread, with retries.

    `task` gets the decoded messages of the batch (failed ones are passed on untouched)
    and returns one `Outcome` per message, in order. `TransientError` (or a transient
    `Failure`) is retried with backoff, then dead-lettered. Any other exception, or a
    `TransientError` that outlives the retries, isolates the messages: each is run alone
    (with its own retries), so one poison message does not fail its whole batch.
    While the step waits for a task the loop's `keep_alive` is called (pause partitions + poll).

    `max_in_flight` batches may be submitted before the oldest is passed on: with 1 (the
    default) `submit` returns once its batch is done and passed on; with 2 it returns at
    once, the batch runs after the one in progress, and the loop meanwhile admits and
    finishes other batches. `poll` passes on finished batches, `join` waits for all;
    batches are always passed on in the order they were submitted.
    """

    keep_alive_after_s = 0.2  # a batch that runs longer pauses its partitions and polls

    def __init__(self, task: Callable[[list[Message]], Sequence[Outcome]], next: ProcessingStep,
                 context: StreamContext, retry: RetryPolicy = RetryPolicy(), max_in_flight: int = 1) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.task, self.next, self.context, self.retry = task, next, context, retry
        self.max_in_flight = max_in_flight
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fairsplit-task")
        self._in_flight: deque[tuple[list[Item], list[int], Future | None, float]] = deque()
        self._closed = False

    def submit(self, items: list[Item]) -> None:
        while len(self._in_flight) >= self.max_in_flight:
            self._pass_on_oldest()
        todo = [index for index, (_, outcome) in enumerate(items) if outcome is None]
        future = self._executor.submit(self._run, [items[index][0] for index in todo]) if todo else None
        self.context.running += future is not None
        self._in_flight.append((items, todo, future, time.monotonic()))
        if self.max_in_flight == 1:
            self._pass_on_oldest()

    def poll(self) -> None:
        while self._in_flight and (self._in_flight[0][2] is None or self._in_flight[0][2].done()):
            self._pass_on_oldest()
        self.next.poll()

    def _pass_on_oldest(self) -> None:
        """Wait for the oldest batch (staying in the group), then hand it downstream."""
        items, todo, future, started = self._in_flight[0]
        outcomes: list[Outcome | None] = [outcome for _, outcome in items]
        if future is not None:
            while not wait([future], timeout=self.keep_alive_after_s).done:  # long batch: stay in the group
                self.context.keep_alive()
            for index, outcome in zip(todo, future.result()):
                outcomes[index] = outcome
            if self.context.metrics:
                self.context.metrics.batch_seconds.observe(time.monotonic() - started)
        self._in_flight.popleft()
        self.context.running -= future is not None
        self.next.submit([(message, outcome) for (message, _), outcome in zip(items, outcomes)])

    def _run(self, messages: list[Message]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(messages)
        todo = list(range(len(messages)))
        attempt = 0
        while todo:
            attempt += 1
            batch = [messages[index] for index in todo]
            try:
                results = list(self.task(batch))
                invariant(len(results) == len(batch), f"the task returned {len(results)} outcomes for {len(batch)} messages")
            except Interrupted:
                raise
            except Exception as exc:  # noqa: BLE001 - transient trouble, a bug or a poison message
                transient = isinstance(exc, TransientError)
                if len(batch) > 1 and (not transient or self.retry.last(attempt)):
                    log.warning("batch failed, isolating its messages", extra={"error": reason_of(exc), "size": len(batch)})
                    results = [self._run([message])[0] for message in batch]
                else:
                    if not transient:
                        log.exception("message failed", extra={"where": batch[0].where})
                    results = [Failure.of(exc, transient=transient)] * len(batch)
            for index, outcome in zip(todo, results):
                if isinstance(outcome, Failure):
                    outcome = replace(outcome, attempts=max(outcome.attempts, attempt))
                outcomes[index] = outcome
            todo = [index for index in todo if isinstance(outcomes[index], Failure) and outcomes[index].transient]
            if not todo or self.retry.last(attempt):
                break
            if self.context.metrics:
                self.context.metrics.retried.inc(len(todo))
            log.warning("retrying transient failures", extra={"count": len(todo), "attempt": attempt,
                                                              "reason": outcomes[todo[0]].reason})
            if self.context.stopping.wait(self.retry.delay(attempt)):
                raise Interrupted(f"stopped while {len(todo)} messages waited to be retried")
        invariant(all(outcome is not None for outcome in outcomes), "every message of a batch has an outcome")
        return outcomes

    def close(self) -> None:
        """No more batches from upstream, except what its `join` flushes; the task thread
        stays until `join` has passed every batch on."""
        self._closed = True
        self.next.close()

    def join(self, timeout: float | None = None) -> None:
        while self._in_flight:
            self._pass_on_oldest()
        self.next.join(timeout)
        if self._closed:
            self._executor.shutdown(wait=True)


class Finish(_Forward):
    """Turn each `Computed` outcome into its final outcome with `finish(message, value)`.

    Runs in the loop's thread as batches leave `RunTask`, so with `max_in_flight=2` this
    CPU work (signing, encoding) overlaps the next batch's task. An exception is that
    message's `Failure` (finishing is deterministic: never retried); other outcomes pass.
    """

    def __init__(self, finish: Callable[[Message, Any], Outcome], next: ProcessingStep) -> None:
        self.finish, self.next = finish, next

    def submit(self, items: list[Item]) -> None:
        finished: list[Item] = []
        for message, outcome in items:
            if isinstance(outcome, Computed):
                try:
                    outcome = self.finish(message, outcome.value)
                except Exception as exc:  # noqa: BLE001 - this message fails, the batch goes on
                    log.exception("finishing failed", extra={"where": message.where})
                    outcome = Failure.of(exc)
                invariant(not isinstance(outcome, Computed), "Finish returned a Computed outcome")
            finished.append((message, outcome))
        self.next.submit(finished)



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


class ProduceResults(_Forward):
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


class DeadLetter(_Forward):
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


class Terminal:
    """The last step of a chain: it holds nothing, so poll, close and join have nothing to do."""

    def poll(self) -> None:
        pass

    def close(self) -> None:
        pass

    def join(self, timeout: float | None = None) -> None:
        pass


class CommitOffsets(Terminal):
    """The one commit point: after a batch's effects, commit the next offset of each partition."""

    def __init__(self, context: StreamContext) -> None:
        self.context = context

    def submit(self, items: list[Item]) -> None:
        invariant(not any(isinstance(o, Computed) for _, o in items), "a Computed outcome reached the commit point: "
                 "the chain needs a Finish step")
        offsets: dict[TopicPartition, int] = {}
        for message, _ in items:
            tp = TopicPartition(message.topic, message.partition)
            offsets[tp] = max(offsets.get(tp, 0), message.offset + 1)
        if offsets:
            self.context.commit(offsets)
        metrics = self.context.metrics
        if metrics:
            now_ms = time.time() * 1000
            for message, outcome in items:
                (metrics.failed if isinstance(outcome, Failure) else metrics.processed).inc()
                if message.timestamp_ms is not None and message.timestamp_ms > 0:
                    metrics.latency.observe(max(0.0, (now_ms - message.timestamp_ms) / 1000))


# --- ready-made chains -----------------------------------------------------------------


def transform_steps(context: StreamContext, *, decode: Callable[[bytes], Any],
                    process: Callable[[list[Message]], Sequence[Outcome]], producer: Producer,
                    output_topic: str, batch_size: int = 16, batch_wait_s: float = 0.5,
                    retry: RetryPolicy = RetryPolicy(), finish: Callable[[Message, Any], Outcome] | None = None,
                    max_in_flight: int = 1) -> ProcessingStep:
    """Decode → Batch → RunTask(process) → [Finish(finish)] → ProduceResults → DeadLetter → CommitOffsets."""
    tail: ProcessingStep = ProduceResults(producer, output_topic, DeadLetter(producer, context, CommitOffsets(context)),
                                          context)
    if finish is not None:
        tail = Finish(finish, tail)
    task = RunTask(process, tail, context, retry, max_in_flight)
    return Decode(decode, Batch(batch_size, batch_wait_s, task))


def sink_steps(context: StreamContext, *, decode: Callable[[bytes], Any],
               effect: Callable[[list[Message]], Sequence[Outcome]], producer: Producer,
               batch_size: int = 64, batch_wait_s: float = 0.2,
               retry: RetryPolicy = RetryPolicy()) -> ProcessingStep:
    """Decode → Batch → RunTask(effect) → DeadLetter → CommitOffsets: the commit follows the effect."""
    task = RunTask(effect, DeadLetter(producer, context, CommitOffsets(context)), context, retry)
    return Decode(decode, Batch(batch_size, batch_wait_s, task))


# --- the loop --------------------------------------------------------------------------


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, processor: "StreamProcessor") -> None:
        self.processor = processor

    def on_partitions_revoked(self, revoked) -> None:
        self.processor._on_revoked(revoked)

    def on_partitions_assigned(self, assigned) -> None:
        log.info("partitions assigned", extra={"partitions": sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned)})


class StreamProcessor:
    """Poll `consumer`, feed the step chain built by `build(context)`, commit where it says.

    `run()` returns when `stop()` is called (or SIGTERM/SIGINT arrive, if
    `handle_signals`), after the in-flight batch is finished and committed.
    """

    BUSY_POLL_MS = 10

    def __init__(self, consumer: KafkaConsumer, topics: Sequence[str],
                 build: Callable[[StreamContext], ProcessingStep], *, service: str,
                 metrics: StreamMetrics | None = None, poll_timeout_ms: int = 200,
                 lag_interval_s: float = 1.0, close_with: Sequence[Any] = ()) -> None:
        self.consumer, self.topics, self.service = consumer, list(topics), service
        self.close_with = list(close_with)  # e.g. the producer: closed (flushed) after the consumer
        self.metrics = metrics
        self.poll_timeout_ms, self.lag_interval_s = poll_timeout_ms, lag_interval_s
        self._stop = threading.Event()
        self.context = StreamContext(service, self._commit, self._keep_alive, metrics, self._stop)
        self.strategy = build(self.context)
        self._busy = False
        self._rebalancing = False
        self._last_lag = 0.0
        self.revocations = 0
        self.commits = 0

    def stop(self) -> None:
        """Ask the loop to finish the in-flight batch, commit and return (thread/signal safe)."""
        self._stop.set()

    def run(self, handle_signals: bool = False) -> None:
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda signum, frame: (log.info("signal, draining", extra={"signal": signum}),
                                                          self.stop()))
        self.consumer.subscribe(self.topics, listener=_Rebalance(self))
        log.info("stream started", extra={"topics": self.topics, "service": self.service})
        try:
            while not self._stop.is_set():
                # A finished batch is passed on only between polls: wait briefly while one runs.
                records = self.consumer.poll(timeout_ms=self.BUSY_POLL_MS if self.context.running else self.poll_timeout_ms)
                self._busy = True
                try:
                    for batch in records.values():
                        for record in batch:
                            self.strategy.submit(Message.from_record(record))
                    self.strategy.poll()
                finally:
                    self._busy = False
                self._resume()
                self._update_lag()
            self._busy = True
            self.strategy.close()
            self.strategy.join()
            self._update_lag(force=True)  # the gauges end on the state the member leaves behind
        except Interrupted as exc:  # nothing of the waiting batch was committed: it is redelivered
            log.warning("stopped before a batch could be completed", extra={"reason": str(exc)})
        finally:
            self.consumer.close(autocommit=False)
            for resource in self.close_with:
                resource.close()
            log.info("stream stopped", extra={"service": self.service, "commits": self.commits})

    def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        try:
            self.consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()})
            self.commits += 1
            log.debug("committed", extra={"offsets": {f"{tp.topic}[{tp.partition}]": o for tp, o in offsets.items()}})
        except (CommitFailedError, KafkaError) as exc:
            # The group moved on (a rebalance): the new owner will redeliver (at-least-once).
            log.warning("commit failed, messages will be redelivered", extra={"error": repr(exc)})

    def _keep_alive(self) -> None:
        """During a long batch: pause what is assigned, poll to stay in the group, drop nothing.
        Inside a rebalance callback (which runs within `poll`) it does nothing: waiting there
        for an in-flight batch is bounded by the group's rebalance timeout instead."""
        if self._rebalancing:
            return
        assigned = self.consumer.assignment()
        if assigned:
            self.consumer.pause(*assigned)
        records = self.consumer.poll(timeout_ms=100)
        for tp, batch in records.items():  # should not happen while paused; never lose them
            self.consumer.seek(tp, min(record.offset for record in batch))

    def _resume(self) -> None:
        paused = self.consumer.paused()
        if paused:
            self.consumer.resume(*paused)

    def _on_revoked(self, revoked) -> None:
        if not revoked:
            return
        log.info("partitions revoked", extra={"partitions": sorted(f"{tp.topic}[{tp.partition}]" for tp in revoked)})
        self.revocations += 1
        if not self._busy:  # flush what is held or in flight for them; inside a batch the commit may fail instead
            self._rebalancing = True
            try:
                self.strategy.join()
            finally:
                self._rebalancing = False

    def _update_lag(self, force: bool = False) -> None:
        """Consumer lag per partition: highwater (from fetch responses) minus position.

        `end_offsets` is not used: Tansu answers it wrongly after multi-record batches.
        """
        if self.metrics is None or (not force and time.monotonic() - self._last_lag < self.lag_interval_s):
            return
        self._last_lag = time.monotonic()
        for tp in self.consumer.assignment():
            highwater = self.consumer.highwater(tp)
            if highwater is None:
                continue
            lag = max(0, highwater - self.consumer.position(tp))
            self.metrics.set_lag(tp.topic, tp.partition, lag)
