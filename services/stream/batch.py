"""Batch: collect items by count or age, submit them downstream as one list."""

from __future__ import annotations

import time

from services.stream.messages import Item
from services.stream.step import ProcessingStep


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
