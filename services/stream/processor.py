"""The loop: poll the consumer, feed the chain, commit where `CommitOffsets` says, stay in
the group during long batches, drain on SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata

from services.observability import StreamMetrics
from services.stream.commit import CommittedOffsets
from services.stream.messages import Interrupted, Message
from services.stream.rebalance import Rebalance
from services.stream.step import ProcessingStep, StreamContext

log = logging.getLogger("fairsplit.stream")


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
        self.committed = CommittedOffsets()  # the offsets invariant, checked at every commit

    def stop(self) -> None:
        """Ask the loop to finish the in-flight batch, commit and return (thread/signal safe)."""
        self._stop.set()

    def run(self, handle_signals: bool = False) -> None:
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda signum, frame: (log.info("signal, draining", extra={"signal": signum}),
                                                          self.stop()))
        self.consumer.subscribe(self.topics, listener=Rebalance(self))
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
        self.committed.check(offsets)  # raises before a commit that would go back
        try:
            self.consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()})
            self.committed.committed(offsets)
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

    def on_revoked(self, revoked) -> None:
        """Partitions taken away by a rebalance: flush what is held for them and forget their marks."""
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
        self.committed.forget(revoked)

    def on_assigned(self, assigned) -> None:
        """A new ownership of these partitions starts a new run of increasing commits."""
        self.committed.forget(assigned)

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
