"""The two ready-made chains the services use, in their commit order:

    Decode → Batch → RunTask(process) → [Finish] → ProduceResults → DeadLetter → CommitOffsets
    Decode → Batch → RunTask(effect)  →            DeadLetter → CommitOffsets
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from services.stream.batch import Batch
from services.stream.commit import CommitOffsets
from services.stream.dead_letter import DeadLetter
from services.stream.decode import Decode
from services.stream.finish import Finish
from services.stream.messages import Message, Outcome, RetryPolicy
from services.stream.produce import Producer, ProduceResults
from services.stream.run_task import RunTask
from services.stream.step import ProcessingStep, StreamContext


def transform_steps(context: StreamContext, *, decode: Callable[[bytes], Any],
                    process: Callable[[list[Message]], Sequence[Outcome]], producer: Producer,
                    output_topic: str, batch_size: int = 16, batch_wait_s: float = 0.5,
                    retry: RetryPolicy = RetryPolicy(), finish: Callable[[Message, Any], Outcome] | None = None,
                    max_in_flight: int = 1) -> ProcessingStep:
    """Decode → Batch → RunTask(process) → [Finish(finish)] → ProduceResults → DeadLetter → CommitOffsets."""
    tail: ProcessingStep = ProduceResults(producer, output_topic, DeadLetter(producer, context, CommitOffsets(context)),
                                          context)
    if finish is not None:
        tail = Finish(finish, tail)
    task = RunTask(process, tail, context, retry, max_in_flight)
    return Decode(decode, Batch(batch_size, batch_wait_s, task))


def sink_steps(context: StreamContext, *, decode: Callable[[bytes], Any],
               effect: Callable[[list[Message]], Sequence[Outcome]], producer: Producer,
               batch_size: int = 64, batch_wait_s: float = 0.2,
               retry: RetryPolicy = RetryPolicy()) -> ProcessingStep:
    """Decode → Batch → RunTask(effect) → DeadLetter → CommitOffsets: the commit follows the effect."""
    task = RunTask(effect, DeadLetter(producer, context, CommitOffsets(context)), context, retry)
    return Decode(decode, Batch(batch_size, batch_wait_s, task))
