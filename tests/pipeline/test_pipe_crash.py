"""Crash safety: each service is SIGKILLed mid-stream and restarted; no event is lost,
none is paid twice, and the ledger still verifies."""

from __future__ import annotations

import json
import random
import time

import pytest

from services.runners import KafkaSettings, emit

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _wait_until(predicate, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_sigkill_of_either_service_loses_nothing_and_pays_nothing_twice(pipeline, kafka_bootstrap, prefix):
    rng = random.Random(5)
    events = [pipeline.event(rng) for _ in range(24)]
    ids = [e["event_id"] for e in events]
    emit(KafkaSettings(kafka_bootstrap, partitions=2, prefix=prefix),
         [json.dumps(e).encode() for e in events], [i.encode() for i in ids])

    pipeline.start("attribution", kafka_bootstrap, prefix)
    pipeline.start("ledger", kafka_bootstrap, prefix)
    _wait_until(lambda: pipeline.landed(ids) >= 3)
    pipeline.kill("ledger")  # mid-stream: some results booked, the rest not yet committed
    killed_writer_at = pipeline.landed(ids)
    pipeline.kill("attribution")
    pipeline.start("ledger", kafka_bootstrap, prefix)
    pipeline.start("attribution", kafka_bootstrap, prefix)
    _wait_until(lambda: pipeline.landed(ids) >= min(len(ids), killed_writer_at + 4))
    pipeline.kill("attribution")  # and the worker, again mid-stream
    killed_worker_at = pipeline.landed(ids)
    pipeline.start("attribution", kafka_bootstrap, prefix)

    assert pipeline.wait_landed(ids) == len(ids)
    assert killed_writer_at < len(ids) and killed_worker_at < len(ids), "the kills were not mid-stream"

    pipeline.assert_paid_exactly_once(events)
    verify = pipeline.cli("ledger", "verify", "--json")
    assert verify.exit_code == 0 and json.loads(verify.output)["ok"] is True
