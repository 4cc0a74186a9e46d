"""Ingest: a file of events through the same steps and tasks as the two services, no broker.

    lines → Decode → Batch → RunTask(WorkerTask) → Finish → Handoff → RunTask(WriterTask) → DeadLetter → Report

`WorkerTask` and `WriterTask` are the services' own tasks and `RunTask` is the one place
that retries transient failures and isolates a failing line, exactly as through Kafka;
what the broker does between the services (carry a result from the worker to the writer)
is `Handoff`, in process. Every non-blank line gets a report — recorded, duplicate
(already recorded with the same body: nothing more is paid) or rejected (with its reason,
also written as a `fairsplit.deadletter.v1` record to the dead-letter file).
"""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

from services.contracts import MAX_EVENT_BYTES
from services.stream import (
    Batch,
    Decode,
    DeadLetter,
    Done,
    Failure,
    Finish,
    Item,
    Message,
    Outcome,
    Produce,
    RetryPolicy,
    RunTask,
    StreamContext,
    Terminal,
    Forward,
)

SOURCE_CHARS = 249  # a dead letter's source topic is at most this long


@dataclass(frozen=True)
class LineReport:
    line: int
    event_id: str | None
    status: str  # "recorded" | "duplicate" | "rejected"
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class Handoff(Forward):
    """The hop the broker makes between the services, in process: a worker's `Produce`
    becomes the writer's input (payload = the signed result). The message keeps the event
    line as its value, so a dead letter holds what the file said."""

    def __init__(self, next) -> None:
        self.next = next

    def submit(self, items: list[Item]) -> None:
        self.next.submit([(replace(message, payload=outcome.value), None) if isinstance(outcome, Produce)
                          else (message, outcome) for message, outcome in items])


class Report(Terminal):
    """The end of the chain: one `LineReport` per line, in order, to `on_line`."""

    def __init__(self, on_line: Callable[[LineReport], None]) -> None:
        self.on_line = on_line

    def submit(self, items: list[Item]) -> None:
        for message, outcome in items:
            self.on_line(line_report(message, outcome))


def line_report(message: Message, outcome: Outcome | None) -> LineReport:
    event_id = _event_id(message.value)
    if isinstance(outcome, Failure):
        return LineReport(message.offset, event_id, "rejected", outcome.reason)
    if isinstance(outcome, Done) and outcome.note == "duplicate":
        return LineReport(message.offset, event_id, "duplicate", "already recorded with the same body; nothing more is paid")
    return LineReport(message.offset, event_id, "recorded")


def _event_id(raw: bytes) -> str | None:
    """The line's event id, for the report only (a hostile line may be anything)."""
    try:
        value = json.loads(raw).get("event_id")
    except (ValueError, AttributeError, RecursionError):
        return None
    return value if isinstance(value, str) and len(value) <= 64 else None


class _Acked:
    def get(self, timeout: float | None = None) -> None:
        return None


class DeadLetterFileError(ValueError):
    """The dead-letter file cannot be used safely (a link, a folder, a special file)."""


def check_dead_letter_file(path: Path) -> Path:
    """`path` if dead letters may be appended there: absent, or a regular file that is not a
    symbolic link (a link would send them, and a rerun's appends, somewhere else)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return path
    if stat.S_ISLNK(mode):
        raise DeadLetterFileError(f"{path} is a symbolic link; dead letters are never written through one.")
    if not stat.S_ISREG(mode):
        raise DeadLetterFileError(f"{path} is not a regular file; dead letters go only to a plain file.")
    return path


class DeadLetterFile:
    """A `Producer` for the `DeadLetter` step that appends each letter as one JSON line to
    `path` (created with the first letter; earlier runs' letters are kept). It is opened
    append-only, never through a symbolic link, and only if it is a regular file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._handle: BinaryIO | None = None

    def send(self, topic: str, key: bytes | None = None, value: bytes | None = None) -> _Acked:
        if self._handle is None:
            check_dead_letter_file(self.path)
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
            fd = os.open(self.path, flags, 0o600)
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise DeadLetterFileError(f"{self.path} is not a regular file; dead letters go only to a plain file.")
            self._handle = os.fdopen(fd, "ab")
        self._handle.write((value or b"") + b"\n")
        self._handle.flush()
        self.count += 1
        return _Acked()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def dead_letter_path(events: Path) -> Path:
    """`events.jsonl` → `events.dlq.jsonl`."""
    return events.with_name(events.name.removesuffix(".jsonl") + ".dlq.jsonl")


def read_lines(handle: BinaryIO, limit: int = MAX_EVENT_BYTES) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of every non-blank line; a line longer than `limit` comes back
    cut to `limit + 1` bytes (it is then refused as too large), never read whole."""
    number = 0
    while True:
        raw = handle.readline(limit + 1)
        if not raw:
            return
        number += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            while True:  # skip the rest of an oversized line
                rest = handle.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
        line = raw.rstrip(b"\r\n")
        if line.strip():
            yield number, line


def count_lines(path: Path) -> int:
    """How many non-blank lines `path` has (for progress), reading it in chunks."""
    with open(path, "rb") as handle:
        return sum(1 for _ in read_lines(handle))


def ingest(
    path: Path,
    worker: Callable[[list[Message]], list[Outcome]],
    writer: Callable[[list[Message]], list[Outcome]],
    on_line: Callable[[LineReport], None],
    *,
    finish: Callable[[Message, Any], Outcome] | None = None,
    batch_size: int = 8,
    dead_letters: DeadLetterFile | None = None,
    keep_alive: Callable[[], None] = lambda: None,
    retry: RetryPolicy = RetryPolicy(attempts=3),
) -> DeadLetterFile:
    """Run every line of `path` through the chain below; returns the dead-letter file."""
    dead_letters = dead_letters or DeadLetterFile(dead_letter_path(path))
    with open(path, "rb") as handle:
        return ingest_lines(str(path), read_lines(handle), worker, writer, on_line, finish=finish,
                            batch_size=batch_size, dead_letters=dead_letters, keep_alive=keep_alive, retry=retry)


def ingest_lines(
    source: str,
    lines: Iterable[tuple[int, bytes]],
    worker: Callable[[list[Message]], list[Outcome]],
    writer: Callable[[list[Message]], list[Outcome]],
    on_line: Callable[[LineReport], None],
    *,
    dead_letters: DeadLetterFile,
    finish: Callable[[Message, Any], Outcome] | None = None,
    batch_size: int = 8,
    keep_alive: Callable[[], None] = lambda: None,
    retry: RetryPolicy = RetryPolicy(attempts=3),
) -> DeadLetterFile:
    """Run (number, event bytes) pairs through the services' chain (a file, or the originals
    of replayed dead letters); rejects go to `dead_letters`."""
    context = StreamContext("ingest", commit=lambda offsets: None, keep_alive=keep_alive)
    sink = RunTask(writer, DeadLetter(dead_letters, context, Report(on_line)), context, retry)
    handoff = Handoff(sink) if finish is None else Finish(finish, Handoff(sink))
    chain = Decode(lambda value: value, Batch(batch_size, math.inf, RunTask(worker, handoff, context, retry)))
    source = source[-SOURCE_CHARS:]
    try:
        for number, line in lines:
            chain.submit(Message(source, 0, number, None, line))
        chain.close()
        chain.join()
    finally:
        dead_letters.close()
    return dead_letters
