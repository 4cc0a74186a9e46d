"""The stream against the real broker: results, dead letters, retries, commits, lag, pauses."""

from __future__ import annotations

import json
import threading

import pytest

from services.contracts import parse_dead_letter
from services.kafka import ensure_topics
from services.observability import StreamMetrics
from tests.services.svc_echo_app import build

pytestmark = pytest.mark.kafka


def _messages(modes: dict[int, str], count: int, **extra) -> list[bytes]:
    return [json.dumps({"n": n, "mode": modes.get(n, "ok"), **extra}).encode() for n in range(count)]


def _run(processor):
    thread = threading.Thread(target=processor.run, daemon=True)
    thread.start()
    return thread


def _stop(processor, thread):
    processor.stop()
    thread.join(60)
    assert not thread.is_alive()


def test_n_messages_make_n_results_and_are_committed(kafka_bootstrap, kafka_io, topic):
    ensure_topics(kafka_bootstrap, [topic, f"{topic}.out", f"{topic}.dlq"], partitions=2)
    kafka_io.produce(topic, _messages({}, 40))
    metrics = StreamMetrics("echo")
    processor = build(kafka_bootstrap, topic, f"{topic}.out", f"{topic}-g", metrics=metrics)
    thread = _run(processor)
    results = kafka_io.read(f"{topic}.out", 40)
    _stop(processor, thread)

    assert sorted(json.loads(r.value)["echo"] for r in results) == list(range(40))
    assert all(r.key == str(json.loads(r.value)["echo"]).encode() for r in results)  # keyed like the input
    committed = kafka_io.committed(f"{topic}-g", topic)
    assert sum(committed.values()) == 40
    assert metrics.value("fairsplit_messages_processed_total") == 40
    assert metrics.value("fairsplit_messages_dead_lettered_total") in (None, 0)
    for partition in committed:  # lag from highwater() - position(): all consumed
        assert metrics.value("fairsplit_consumer_lag", topic=topic, partition=str(partition)) == 0


def test_bad_messages_are_dead_lettered_and_the_batch_goes_on(kafka_bootstrap, kafka_io, topic):
    ensure_topics(kafka_bootstrap, [topic, f"{topic}.out", f"{topic}.dlq"], partitions=1)
    values = _messages({3: "fail", 6: "flaky", 7: "flaky-once"}, 10)
    values[1] = b"{not json"
    values[8] = b'{"no": "n"}'
    kafka_io.produce(topic, values)
    metrics = StreamMetrics("echo")
    processor = build(kafka_bootstrap, topic, f"{topic}.out", f"{topic}-g", metrics=metrics, batch_size=4)
    thread = _run(processor)
    letters = [parse_dead_letter(r.value) for r in kafka_io.read(f"{topic}.dlq", 4)]
    results = kafka_io.read(f"{topic}.out", 6, settle_s=0.5)
    _stop(processor, thread)

    assert sorted(json.loads(r.value)["echo"] for r in results) == [0, 2, 4, 5, 7, 9]  # 7 recovered on retry
    by_offset = {letter.source.offset: letter for letter in letters}
    assert sorted(by_offset) == [1, 3, 6, 8]
    assert by_offset[1].original == b"{not json" and by_offset[1].error_class == "JSONDecodeError"
    assert by_offset[3].reason == "message 3 cannot be echoed" and by_offset[3].attempts == 1
    assert by_offset[6].error_class == "TransientError" and by_offset[6].attempts == 3
    assert "integer n" in by_offset[8].reason
    assert all(letter.source.topic == topic and letter.source.partition == 0 for letter in letters)
    assert all(letter.service == "echo" and letter.failed_at.tzinfo for letter in letters)
    assert kafka_io.committed(f"{topic}-g", topic) == {0: 10}
    assert metrics.value("fairsplit_messages_dead_lettered_total") == 4
    assert metrics.value("fairsplit_messages_retried_total") >= 1


@pytest.mark.slow  # the batch lasts 6 s by design
def test_a_long_batch_pauses_and_keeps_the_member_in_its_group(kafka_bootstrap, kafka_io, topic):
    """A batch three times longer than max.poll.interval: no rebalance, no redelivery."""
    ensure_topics(kafka_bootstrap, [topic, f"{topic}.out", f"{topic}.dlq"], partitions=1)
    kafka_io.produce(topic, [json.dumps({"n": 0, "mode": "sleep", "seconds": 6}).encode()]
                     + _messages({}, 4)[1:])
    processor = build(kafka_bootstrap, topic, f"{topic}.out", f"{topic}-g", batch_size=1,
                      max_poll_interval_ms=2000)
    thread = _run(processor)
    results = kafka_io.read(f"{topic}.out", 4, timeout_s=60, settle_s=1.0)
    _stop(processor, thread)

    assert sorted(json.loads(r.value)["echo"] for r in results) == [0, 1, 2, 3]
    assert processor.revocations <= 1  # only the one when it stops
    assert kafka_io.committed(f"{topic}-g", topic) == {0: 4}


def test_sink_commits_after_its_effect(kafka_bootstrap, kafka_io, topic):
    """The ledger-writer shape: the effect is a callable (an idempotent write), no output topic."""
    from services.kafka import make_consumer, make_producer
    from services.stream import Done, Failure, StreamProcessor, sink_steps
    from tests.services.svc_echo_app import decode

    ensure_topics(kafka_bootstrap, [topic, f"{topic}.dlq"], partitions=1)
    kafka_io.produce(topic, _messages({2: "fail"}, 6))
    store: dict[bytes, int] = {}

    def write(messages):
        outcomes = []
        for message in messages:
            if message.payload["mode"] == "fail":
                outcomes.append(Failure("rejected by the store", "StoreError"))
            else:
                store.setdefault(message.key, message.payload["n"])  # idempotent by key
                outcomes.append(Done())
        return outcomes

    producer = make_producer(kafka_bootstrap)
    consumer = make_consumer(kafka_bootstrap, f"{topic}-g", session_timeout_ms=6000, heartbeat_interval_ms=1000)
    processor = StreamProcessor(consumer, [topic], lambda ctx: sink_steps(ctx, decode=decode, effect=write,
                                                                          producer=producer),
                                service="sink", close_with=[producer])
    thread = _run(processor)
    letters = kafka_io.read(f"{topic}.dlq", 1)
    _stop(processor, thread)

    assert sorted(store.values()) == [0, 1, 3, 4, 5]
    assert parse_dead_letter(letters[0].value).source.offset == 2
    assert kafka_io.committed(f"{topic}-g", topic) == {0: 6}
