"""The stream's commit point (issue 21): each batch is committed after its results and
dead letters are acknowledged, batches in the order they were consumed, and a member's
committed offsets only increase per partition — a commit that would go back raises."""

from __future__ import annotations

import pytest
from kafka import TopicPartition

from ledger.invariants import InvariantError
from services.stream import (CommitOffsets, CommittedOffsets, Done, Failure, Message, Produce, StreamContext,
                             transform_steps)

TP = TopicPartition("events", 0)


class _Acked:
    def get(self, timeout=None):
        return None


class RecordingProducer:
    """A producer that keeps what it was given, in order, with the commits beside it."""

    def __init__(self, log: list) -> None:
        self.log = log

    def send(self, topic, key=None, value=None):
        self.log.append(("send", topic, value))
        return _Acked()


def test_committed_offsets_only_increase_per_partition():
    marks = CommittedOffsets()
    marks.committed({TP: 3, TopicPartition("events", 1): 1})
    marks.committed({TP: 5})
    with pytest.raises(InvariantError, match=r"only increase per partition: events\[0\] would go from 5 to 4"):
        marks.committed({TP: 4})
    with pytest.raises(InvariantError):
        marks.check({TP: 5})  # committing the same offset twice is not progress either
    assert marks.last[TP] == 5
    marks.forget([TP])  # a new ownership of the partition starts over
    marks.committed({TP: 2})
    assert marks.last == {TP: 2, TopicPartition("events", 1): 1}


def test_the_commit_point_refuses_to_go_back_before_committing():
    marks = CommittedOffsets()
    sent = []
    context = StreamContext("test", commit=lambda offsets: (marks.committed(offsets), sent.append(offsets)))
    commit = CommitOffsets(context)
    commit.submit([(Message("events", 0, 7, None, b"a"), Done()), (Message("events", 0, 8, None, b"b"), Done())])
    with pytest.raises(InvariantError):
        commit.submit([(Message("events", 0, 4, None, b"old"), Done())])
    assert sent == [{TP: 9}]


def test_each_batch_is_committed_after_its_results_and_dead_letters_in_order():
    log: list = []
    marks = CommittedOffsets()

    def commit(offsets):
        marks.committed(offsets)
        log.append(("commit", dict(offsets)))

    context = StreamContext("test", commit=commit)

    def process(messages):
        return [Failure("odd") if m.offset % 2 else Produce(m.value.upper()) for m in messages]

    chain = transform_steps(context, decode=lambda value: value, process=process,
                            producer=RecordingProducer(log), output_topic="results", batch_size=2)
    for offset in range(4):
        chain.submit(Message("events", 0, offset, None, b"e%d" % offset))
    chain.close()
    chain.join()
    kinds = [(entry[0], entry[1]) if entry[0] == "send" else entry for entry in log]
    assert kinds == [("send", "results"), ("send", "events.dlq"), ("commit", {TP: 2}),
                     ("send", "results"), ("send", "events.dlq"), ("commit", {TP: 4})]


@pytest.mark.kafka
def test_a_rebalance_starts_a_new_run_of_increasing_commits(kafka_bootstrap):
    """Revoked or newly assigned partitions forget their marks: the next owner starts from the
    group's committed offset, which may be below what this member once committed."""
    from kafka import KafkaConsumer

    from services.stream import StreamProcessor
    from services.stream.rebalance import Rebalance

    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id="offsets-test", enable_auto_commit=False)
    try:
        processor = StreamProcessor(consumer, ["events"], lambda context: CommitOffsets(context), service="test")
        listener = Rebalance(processor)
        processor.committed.committed({TP: 5})
        with pytest.raises(InvariantError):
            processor.committed.check({TP: 2})
        listener.on_partitions_revoked([TP])
        processor.committed.check({TP: 2})
        processor.committed.committed({TP: 7})
        listener.on_partitions_assigned([TP])
        processor.committed.check({TP: 3})
        assert processor.revocations == 1
    finally:
        consumer.close(autocommit=False)
