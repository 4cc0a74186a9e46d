"""Following what the pipeline does, for a person at a terminal (`fairsplit up`,
`fairsplit dead-letters --follow`): the dead letters of both services, read from their
topics without joining a group (so the services' own groups are untouched)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from kafka import KafkaConsumer, TopicPartition

from services.contracts import ContractError, DeadLetterV1, parse_dead_letter


class DeadLetterTail:
    """Every dead letter of `topics`, from their beginning, as it arrives. Topics that do
    not exist yet (the services create them when they start) are picked up once they do."""

    def __init__(self, bootstrap: str, topics: Sequence[str]) -> None:
        self.topics = list(topics)
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                      client_id="fairsplit-watch", request_timeout_ms=30_000)
        self._assigned: list[TopicPartition] = []

    def _assign(self) -> None:
        wanted = {tp.topic for tp in self._assigned}
        fresh = []
        for topic in self.topics:
            if topic in wanted:
                continue
            partitions = self.consumer.partitions_for_topic(topic)
            fresh += [TopicPartition(topic, p) for p in partitions or ()]
        if fresh:
            self._assigned += fresh
            self.consumer.assign(self._assigned)
            self.consumer.seek_to_beginning(*fresh)

    def poll(self, timeout_ms: int = 200) -> Iterator[DeadLetterV1 | bytes]:
        """The letters that arrived (a record that is not a dead letter comes back as bytes)."""
        if len({tp.topic for tp in self._assigned}) < len(self.topics):
            self._assign()
        if not self._assigned:
            return
        for records in self.consumer.poll(timeout_ms=timeout_ms).values():
            for record in records:
                try:
                    yield parse_dead_letter(record.value)
                except ContractError:
                    yield record.value

    def close(self) -> None:
        self.consumer.close(autocommit=False)
