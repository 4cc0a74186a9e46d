"""Scale-out: two attribution workers (one per GPU in production; tiny CPU ones here) in one
consumer group share the partitions, and every event is booked exactly once."""

from __future__ import annotations

import json
import random
import time

import pytest

from services.runners import KafkaSettings, emit

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

WORKERS = ("attribution-a", "attribution-b")


def _records(pipeline, name: str, message: str) -> list[dict]:
    lines = (json.loads(line) for line in pipeline.log(name).splitlines() if line.startswith("{"))
    return [line for line in lines if line.get("message") == message]


def _assigned(pipeline, name: str) -> list[str]:
    """The partitions a worker holds now (its latest assignment)."""
    assigned = _records(pipeline, name, "partitions assigned")
    return assigned[-1]["partitions"] if assigned else []


def test_two_workers_share_the_partitions_and_each_event_is_booked_once(pipeline, kafka_bootstrap, prefix):
    for name in WORKERS:
        pipeline.start("attribution", kafka_bootstrap, prefix, name=name)
    pipeline.start("ledger", kafka_bootstrap, prefix)
    events_topic = prefix + "generation.events"
    deadline = time.monotonic() + 120
    while True:  # until the group settled: one partition each
        held = {name: set(_assigned(pipeline, name)) for name in WORKERS}
        if all(held.values()) and held[WORKERS[0]].isdisjoint(held[WORKERS[1]]):
            break
        assert time.monotonic() < deadline, f"the workers never shared the partitions: {held}"
        for name, process in pipeline.children.items():
            assert process.poll() is None, f"{name} died:\n{pipeline.log(name)[-3000:]}"
        time.sleep(0.5)
    assert held[WORKERS[0]].isdisjoint(held[WORKERS[1]])
    assert held[WORKERS[0]] | held[WORKERS[1]] == {f"{events_topic}[0]", f"{events_topic}[1]"}

    rng = random.Random(8)
    events = [pipeline.event(rng) for _ in range(16)]
    ids = [e["event_id"] for e in events]
    emit(KafkaSettings(kafka_bootstrap, partitions=2, prefix=prefix),
         [json.dumps(e).encode() for e in events], [i.encode() for i in ids])
    assert pipeline.wait_landed(ids, timeout_s=300) == len(ids)
    pipeline.stop_all()

    commits = {name: [r["commits"] for r in _records(pipeline, name, "stream stopped")] for name in WORKERS}
    assert all(c and c[-1] >= 1 for c in commits.values()), commits  # both attributed (and committed) events
    pipeline.assert_paid_exactly_once(events)
