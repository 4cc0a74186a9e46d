"""Dead letters a person can act on: which event each one is, why it was refused, and the
original record to submit again once the cause is fixed.

A dead letter (`fairsplit.deadletter.v1`) holds the original bytes; the event id is read
from them (events and results both carry `event_id`) or, failing that, from the record's
key (platforms key events by id). Both are hostile input: only a canonical event id is
ever named, and every text shown goes through `services.safe_text.printable_line`.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ledger.ids import is_event_id
from services.contracts import ContractError, DeadLetterV1, parse_dead_letter
from services.safe_text import printable_line

MAX_FILE_BYTES = 1 << 30
MAX_LINE_BYTES = 32 << 20  # a letter holds a base64 event of up to 16 MiB


def event_id_of(letter: DeadLetterV1) -> str | None:
    """The id of the event a letter is about, if its record or key names a valid one."""
    try:
        value = json.loads(letter.original)
        candidate = value.get("event_id") if isinstance(value, dict) else None
    except (ValueError, RecursionError):
        candidate = None
    if isinstance(candidate, str) and is_event_id(candidate):
        return candidate
    if letter.key_base64:
        try:
            key = base64.b64decode(letter.key_base64).decode("ascii")
        except (ValueError, UnicodeDecodeError):
            return None
        return key if is_event_id(key) else None
    return None


def describe(letter: DeadLetterV1) -> str:
    """One line: which event, refused by whom, from where, and why."""
    event = event_id_of(letter)
    source = letter.source
    return (f"event {event or '(no valid event id)'} rejected by the {printable_line(letter.service, 64)} "
            f"({printable_line(source.topic, 120)}[{source.partition}]@{source.offset}): {printable_line(letter.reason)}")


def as_dict(letter: DeadLetterV1) -> dict:
    """The letter as JSON output, with the event id it is about."""
    return {"event_id": event_id_of(letter), **json.loads(letter.to_json_bytes())}


@dataclass(frozen=True)
class BadLine:
    """A line of a dead-letter file that is not a dead letter."""

    line: int
    problem: str


def read_dead_letter_file(path: Path) -> Iterator[DeadLetterV1 | BadLine]:
    """Every letter of a `FILE.dlq.jsonl` (as `ingest` and `up` write them), in order. Only a
    regular file is read (a FIFO would block for ever); lines are read bounded."""
    from services.ingest import read_lines

    read = 0
    with open(path, "rb", opener=_regular_file_opener) as handle:
        for number, raw in read_lines(handle, MAX_LINE_BYTES):
            read += len(raw)
            if read > MAX_FILE_BYTES:
                yield BadLine(number, f"the file is larger than {MAX_FILE_BYTES >> 20} MiB; the rest is not read")
                return
            if len(raw) > MAX_LINE_BYTES:
                yield BadLine(number, "the line is too long to be a dead letter")
                continue
            try:
                yield parse_dead_letter(raw)
            except ContractError as exc:
                yield BadLine(number, printable_line(str(exc), 200))


def _regular_file_opener(path: str, flags: int) -> int:
    fd = os.open(path, flags | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise IsADirectoryError(21, "not a regular file", path)
    return fd
