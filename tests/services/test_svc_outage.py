"""An unreachable database is an outage to wait out, never a reason to dead-letter a record:
the writer's task says "transient", the stream retries it with backoff (one log line each)
until it passes or the service stops — and stopping then commits nothing."""

from __future__ import annotations

import logging
import threading

import pytest

from ledger.books.db import make_engine
from ledger.books.store import Ledger
from services.contracts import parse_result
from services.ledger_writer import AcceptedResult, WriterTask
from services.stream import (
    Done,
    Interrupted,
    Message,
    RetryPolicy,
    RunTask,
    StreamContext,
    Terminal,
    TransientError,
    reason_of,
)


class Collect(Terminal):
    def __init__(self) -> None:
        self.items: list = []

    def submit(self, items) -> None:
        self.items.extend(items)


def _message(n: int) -> Message:
    return Message("results", 0, n, None, b"{}", payload=b"{}")


RESULT = {
    "schema": "fairsplit.attribution.v1", "event_id": "0b6f7f2e-4d3a-4a55-9d1e-2a8e3f6b9c10",
    "attribution_id": "1b6f7f2e-4d3a-4a55-9d1e-2a8e3f6b9c10", "platform_id": "acme",
    "occurred_at": "2026-11-24T12:00:00Z", "model": {"id": "sd-1.5", "revision": "1"}, "content": "a man",
    "method": {"estimator": "exact", "value_function": "generative", "profile": "sd15",
               "models": {"generator": {"id": "sd", "revision": "1"}}, "tau": 0.02},
    "players": [{"id": "sd-1.5", "account": "model:sd-1.5", "kind": "model", "recognised": True}],
    "values": [], "shares": {"model:sd-1.5": 1.0}, "reward": {"amount": "0.01", "currency": "USD"},
    "event_sha256": "0" * 64, "worker_key_id": "0123456789abcdef",
}


def test_a_database_that_cannot_be_reached_is_a_transient_failure_of_the_writer():
    accepted = AcceptedResult(parse_result(RESULT), RESULT, "0" * 16)
    task = WriterTask(lambda raw: accepted, Ledger(make_engine("postgresql://nobody@127.0.0.1:1/nowhere")))
    with pytest.raises(TransientError, match="cannot be reached"):
        task([_message(0), _message(1)])


class _Lines(logging.Handler):
    """The records of one logger, whatever other tests did to the root's handlers."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_transient_failures_are_retried_until_they_pass_with_one_line_each():
    calls = []

    def flaky(messages):
        calls.append(len(messages))
        if len(calls) < 4:
            raise TransientError("the ledger database cannot be reached: connection refused")
        return [Done() for _ in messages]

    end = Collect()
    context = StreamContext("writer", commit=lambda offsets: None)
    task = RunTask(flaky, end, context, RetryPolicy(attempts=None, backoff_s=0.01))
    logger, lines = logging.getLogger("fairsplit.stream"), _Lines()
    was = logger.level, logger.disabled
    logger.addHandler(lines)
    logger.setLevel(logging.WARNING)
    logger.disabled = False
    try:
        task.submit([(_message(n), None) for n in range(3)])
    finally:
        logger.removeHandler(lines)
        logger.level, logger.disabled = was
    assert calls == [3, 3, 3, 3] and all(isinstance(outcome, Done) for _, outcome in end.items)
    retries = [r for r in lines.records if r.getMessage() == "retrying transient failures"]
    assert len(retries) == 3 and all("\n" not in r.getMessage() for r in retries)


def test_stopping_during_an_outage_commits_nothing():
    context = StreamContext("writer", commit=lambda offsets: None)
    end = Collect()

    def down(messages):
        raise TransientError("the ledger database cannot be reached")

    task = RunTask(down, end, context, RetryPolicy(attempts=None, backoff_s=0.05))
    threading.Timer(0.3, context.stopping.set).start()
    with pytest.raises(Interrupted):
        task.submit([(_message(0), None)])
    assert end.items == []  # nothing reached the commit step: the record is redelivered


def test_a_reason_is_one_line_of_at_most_300_characters_without_the_sql():
    from sqlalchemy.exc import IntegrityError

    exc = IntegrityError("INSERT INTO transfers (seq, id) VALUES (%s, %s)", {"seq": 1}, Exception("x" * 1000 + "\nDETAIL: y"))
    reason = reason_of(exc)
    assert len(reason) <= 300 and "\n" not in reason and "VALUES" not in reason
