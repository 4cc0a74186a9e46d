"""Finish: turn `Computed` outcomes into final ones in the loop's thread (signing,
encoding), overlapping the next batch's task."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ledger.invariants import invariant
from services.stream.messages import Computed, Failure, Item, Message, Outcome
from services.stream.step import Forward, ProcessingStep

log = logging.getLogger("fairsplit.stream")


class Finish(Forward):
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
