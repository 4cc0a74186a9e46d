"""CommitOffsets: the one commit point, after every effect of a batch; and the invariant
that a member's committed offsets only increase per partition while it owns it."""

from __future__ import annotations

import time

from kafka import TopicPartition

from ledger.invariants import invariant
from services.stream.messages import Computed, Failure, Item
from services.stream.step import StreamContext, Terminal


class CommittedOffsets:
    """The offsets a member committed, per partition, while it owns it. Invariant: each
    commit of a partition is beyond the previous one (batches are committed in the order
    they were consumed, each after its effects); a commit that would go back raises
    `InvariantError` before anything reaches the broker. A revoked partition is forgotten:
    whoever owns it next starts from the group's committed offset."""

    def __init__(self) -> None:
        self.last: dict[TopicPartition, int] = {}

    def check(self, offsets: dict[TopicPartition, int]) -> None:
        for tp, offset in offsets.items():
            previous = self.last.get(tp)
            invariant(previous is None or offset > previous,
                      f"committed offsets only increase per partition: {tp.topic}[{tp.partition}] "
                      f"would go from {previous} to {offset}")

    def committed(self, offsets: dict[TopicPartition, int]) -> None:
        self.check(offsets)
        self.last.update(offsets)

    def forget(self, partitions) -> None:
        for tp in partitions:
            self.last.pop(tp, None)


class CommitOffsets(Terminal):
    """The one commit point: after a batch's effects, commit the next offset of each partition."""

    def __init__(self, context: StreamContext) -> None:
        self.context = context

    def submit(self, items: list[Item]) -> None:
        invariant(not any(isinstance(o, Computed) for _, o in items), "a Computed outcome reached the commit point: "
                 "the chain needs a Finish step")
        offsets: dict[TopicPartition, int] = {}
        for message, _ in items:
            tp = TopicPartition(message.topic, message.partition)
            offsets[tp] = max(offsets.get(tp, 0), message.offset + 1)
        if offsets:
            self.context.commit(offsets)
        metrics = self.context.metrics
        if metrics:
            now_ms = time.time() * 1000
            for message, outcome in items:
                (metrics.failed if isinstance(outcome, Failure) else metrics.processed).inc()
                if message.timestamp_ms is not None and message.timestamp_ms > 0:
                    metrics.latency.observe(max(0.0, (now_ms - message.timestamp_ms) / 1000))
