"""Pipelined batches (RunTask max_in_flight=2 + Finish) against the real broker: the CPU
finishing of a batch runs while the next batch's task runs, results and commits keep
their order, a finishing failure dead-letters only its message, and a stop flushes what
the batcher still holds."""

from __future__ import annotations

import json
import threading
import time

import pytest

from ledger.invariants import InvariantError
from services.contracts import parse_dead_letter
from services.kafka import ensure_topics, make_consumer, make_producer
from services.stream import (
    CommitOffsets,
    Computed,
    Failure,
    Produce,
    ProduceResults,
    StreamContext,
    StreamProcessor,
    transform_steps,
)
from tests.services.svc_echo_app import decode

pytestmark = pytest.mark.kafka


class Recorder:
    """A task that 'renders' (sleeps) and a finish that 'signs', both logging when they ran."""

    def __init__(self, task_seconds: float) -> None:
        self.task_seconds = task_seconds
        self.tasks: list[tuple[list[int], float, float]] = []  # (ns, start, end)
        self.finished: list[tuple[int, float, str]] = []  # (n, when, thread name)

    def task(self, messages):
        start = time.monotonic()
        time.sleep(self.task_seconds)
        self.tasks.append(([m.payload["n"] for m in messages], start, time.monotonic()))
        return [Computed(m.payload["n"]) for m in messages]

    def finish(self, message, n: int):
        self.finished.append((n, time.monotonic(), threading.current_thread().name))
        if message.payload.get("mode") == "finish-fail":
            raise ValueError(f"message {n} cannot be signed")
        return Produce(json.dumps({"echo": n}).encode())


def _processor(bootstrap: str, topic: str, recorder: Recorder, batch_size: int, batch_wait_s: float = 0.2):
    consumer = make_consumer(bootstrap, f"{topic}-g", session_timeout_ms=6000, heartbeat_interval_ms=1000)
    producer = make_producer(bootstrap)
    return StreamProcessor(
        consumer, [topic],
        lambda ctx: transform_steps(ctx, decode=decode, process=recorder.task, finish=recorder.finish,
                                    producer=producer, output_topic=f"{topic}.out", batch_size=batch_size,
                                    batch_wait_s=batch_wait_s, max_in_flight=2),
        service="echo", close_with=[producer],
    )


def _run(processor) -> threading.Thread:
    thread = threading.Thread(target=processor.run, daemon=True)
    thread.start()
    return thread


@pytest.mark.slow
def test_finishing_overlaps_the_next_batch_and_everything_stays_in_order(kafka_bootstrap, kafka_io, topic):
    ensure_topics(kafka_bootstrap, [topic, f"{topic}.out", f"{topic}.dlq"], partitions=1)
    modes = {6: "finish-fail"}
    kafka_io.produce(topic, [json.dumps({"n": n, "mode": modes.get(n, "ok")}).encode() for n in range(16)])
    recorder = Recorder(task_seconds=0.6)
    processor = _processor(kafka_bootstrap, topic, recorder, batch_size=4)
    thread = _run(processor)
    results = kafka_io.read(f"{topic}.out", 15, settle_s=0.5)
    letters = kafka_io.read(f"{topic}.dlq", 1)
    processor.stop()
    thread.join(60)

    assert [json.loads(r.value)["echo"] for r in results] == [n for n in range(16) if n != 6]  # in order
    assert [parse_dead_letter(letter.value).source.offset for letter in letters] == [6]
    assert "cannot be signed" in parse_dead_letter(letters[0].value).reason
    assert kafka_io.committed(f"{topic}-g", topic) == {0: 16}
    assert [ns for ns, _, _ in recorder.tasks] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]
    assert all(not name.startswith("fairsplit-task") for _, _, name in recorder.finished)  # the loop's thread
    overlapped = [
        k for k, (ns, _, _) in enumerate(recorder.tasks[:-1])
        if any(recorder.tasks[k + 1][1] < when < recorder.tasks[k + 1][2] for n, when, _ in recorder.finished if n in ns)
    ]
    assert overlapped, "no batch was finished while the next one ran"


def test_a_stop_flushes_what_the_batcher_holds_and_commits_it(kafka_bootstrap, kafka_io, topic):
    ensure_topics(kafka_bootstrap, [topic, f"{topic}.out", f"{topic}.dlq"], partitions=1)
    kafka_io.produce(topic, [json.dumps({"n": n}).encode() for n in range(3)])
    recorder = Recorder(task_seconds=0.0)
    processor = _processor(kafka_bootstrap, topic, recorder, batch_size=8, batch_wait_s=600.0)  # never full, never old
    thread = _run(processor)
    held = processor.strategy.next  # Decode → Batch
    deadline = time.monotonic() + 30
    while len(held._items) < 3 and time.monotonic() < deadline:  # fetched, decoded, held
        time.sleep(0.1)
    assert len(held._items) == 3 and not recorder.tasks
    processor.stop()
    thread.join(60)

    assert not thread.is_alive()
    assert sorted(json.loads(r.value)["echo"] for r in kafka_io.read(f"{topic}.out", 3)) == [0, 1, 2]
    assert kafka_io.committed(f"{topic}-g", topic) == {0: 3}


def test_a_computed_outcome_never_reaches_publishing_or_the_commit_point():
    from services.stream import Message

    message = Message("t", 0, 0, b"k", b"{}")
    commits = []
    context = StreamContext("test", commits.append)
    with pytest.raises(InvariantError, match="needs a Finish step"):
        CommitOffsets(context).submit([(message, Computed(1))])
    with pytest.raises(InvariantError, match="needs a Finish step"):
        ProduceResults(None, "out", CommitOffsets(context), context).submit([(message, Computed(1))])
    CommitOffsets(context).submit([(message, Failure("no"))])
    assert len(commits) == 1


def test_the_loop_knows_while_a_batch_runs_so_it_polls_briefly_and_passes_it_on_soon():
    from services.stream import Message, RunTask

    release = threading.Event()
    passed_on = []

    class Sink:
        def submit(self, items):
            passed_on.extend(items)

        def poll(self):
            pass

    context = StreamContext("test", lambda offsets: None)
    step = RunTask(lambda messages: (release.wait(30), [Computed(len(messages))])[1], Sink(), context,
                   max_in_flight=2)
    step.submit([(Message("t", 0, 0, b"k", b"{}"), None)])
    assert context.running == 1 and not passed_on
    release.set()
    deadline = time.monotonic() + 30
    while not passed_on and time.monotonic() < deadline:
        step.poll()
        time.sleep(0.01)
    assert context.running == 0 and len(passed_on) == 1
