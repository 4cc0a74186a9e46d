"""What flows through a stream: a `Message`, the outcome of processing it, the failures
worth retrying and how (`RetryPolicy`). Pure data: no Kafka client, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.errors import first_line


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


def reason_of(exc: BaseException) -> str:
    """One line of at most 300 characters saying why (`ledger.errors.first_line`), or the
    exception's class when it says nothing."""
    return first_line(exc) or type(exc).__name__


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


class Rejected(ValueError):
    """A message that must never be processed — an event not to attribute, a result not to
    book: the message is the one sentence it is dead-lettered with, `kind` the check that
    refused it. The one refusal of the services (admission, the worker, the writer)."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.kind = kind


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
