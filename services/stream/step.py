"""The step protocol (`submit`, `poll`, `close`, `join`), what a step may ask of the loop
(`StreamContext`), and the two defaults: `Forward` (keeps nothing, passes calls on) and
`Terminal` (the end of a chain)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from kafka import TopicPartition

from services.observability import StreamMetrics


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


class Forward:
    """Default `poll/close/join` of a step that keeps nothing: pass the call on."""

    next: ProcessingStep

    def poll(self) -> None:
        self.next.poll()

    def close(self) -> None:
        self.next.close()

    def join(self, timeout: float | None = None) -> None:
        self.next.join(timeout)


class Terminal:
    """The last step of a chain: it holds nothing, so poll, close and join have nothing to do."""

    def poll(self) -> None:
        pass

    def close(self) -> None:
        pass

    def join(self, timeout: float | None = None) -> None:
        pass
