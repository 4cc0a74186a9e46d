"""Decode: bytes → payload; a decoder error is that message's `Failure`, never retried."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from services.stream.messages import Failure, Item, Message
from services.stream.step import Forward, ProcessingStep


class Decode(Forward):
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
