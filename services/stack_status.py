"""What the broker says about the pipeline, for `fairsplit status`: each service group's
committed offset and lag per partition, and how many dead letters each `.dlq` topic holds.

Read without joining any group (an admin client and an unassigned consumer), so the
services' own groups are untouched. Knows Kafka only; the ledger's side is `ledger.views.head`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from services.kafka import dlq_topic
from services.runners import WORKER_GROUP, WRITER_GROUP, KafkaSettings


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None  # None: the group has committed nothing there yet
    end: int

    @property
    def lag(self) -> int:
        return max(0, self.end - (self.committed or 0))

    def as_dict(self) -> dict:
        return {"group": self.group, "topic": self.topic, "partition": self.partition, "committed": self.committed,
                "end": self.end, "lag": self.lag}


@dataclass(frozen=True)
class BrokerStatus:
    bootstrap: str
    lag: list[PartitionLag]
    dead_letters: dict[str, int]  # .dlq topic -> records in it

    def as_dict(self) -> dict:
        return {"bootstrap": self.bootstrap, "lag": [p.as_dict() for p in self.lag], "dead_letters": self.dead_letters}


def _end_offsets(consumer: KafkaConsumer, tps: list[TopicPartition], timeout_s: float) -> dict[TopicPartition, int]:
    """The end offset (high watermark) of each partition, as fetch responses report it.

    `end_offsets` alone is not enough: Tansu answers ListOffsets with a low value after
    multi-record batches (the stream's lag gauge reads the fetch's high watermark too).
    So fetch from there and keep the larger figure, until every partition has answered
    or `timeout_s` passes."""
    if not tps:
        return {}
    listed = {tp: int(offset) for tp, offset in consumer.end_offsets(tps).items()}
    consumer.assign(tps)
    for tp in tps:
        consumer.seek(tp, max(0, listed.get(tp, 0) - 1))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(consumer.highwater(tp) is None for tp in tps):
        consumer.poll(timeout_ms=200, max_records=1)
    return {tp: max(listed.get(tp, 0), consumer.highwater(tp) or 0) for tp in tps}


def broker_status(settings: KafkaSettings, timeout_ms: int = 10_000) -> BrokerStatus:
    """Lag of both services' groups per partition and the size of both dead-letter topics."""
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap, enable_auto_commit=False,
                             client_id="fairsplit-status", request_timeout_ms=timeout_ms)
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap, client_id="fairsplit-status",
                             request_timeout_ms=timeout_ms)
    try:
        def partitions(topic: str) -> list[TopicPartition]:
            return [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]

        topics = [settings.events, settings.results, dlq_topic(settings.events), dlq_topic(settings.results)]
        ends = _end_offsets(consumer, [tp for topic in topics for tp in partitions(topic)], timeout_ms / 1000)
        lag = []
        for group, topic in ((settings.prefix + WORKER_GROUP, settings.events),
                             (settings.prefix + WRITER_GROUP, settings.results)):
            tps = partitions(topic)
            if not tps:
                continue
            committed = admin.list_group_offsets({group: tps}).get(group, {})
            for tp in tps:
                mark = committed.get(tp)
                offset = mark.offset if mark is not None and mark.offset is not None and mark.offset >= 0 else None
                lag.append(PartitionLag(group, tp.topic, tp.partition, offset, ends.get(tp, 0)))
        letters = {}
        for topic in (dlq_topic(settings.events), dlq_topic(settings.results)):
            tps = partitions(topic)
            if tps:
                starts = consumer.beginning_offsets(tps)
                letters[topic] = sum(max(0, ends.get(tp, 0) - int(starts[tp])) for tp in tps)
            else:
                letters[topic] = 0
        return BrokerStatus(settings.bootstrap, lag, letters)
    finally:
        consumer.close(autocommit=False)
        admin.close()
