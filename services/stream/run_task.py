"""RunTask: the user's callable on a batch, in a worker thread, with retries and poison-
message isolation; batches leave in the order they came in."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import replace

from ledger.invariants import invariant
from services.stream.messages import Failure, Interrupted, Item, Message, Outcome, RetryPolicy, TransientError, reason_of
from services.stream.step import Forward, ProcessingStep, StreamContext

log = logging.getLogger("fairsplit.stream")


class RunTask(Forward):
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
