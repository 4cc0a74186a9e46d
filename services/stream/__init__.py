"""A Kafka processing loop made of small composable steps (in the manner of getsentry/arroyo).

A stream is a consumer plus a chain of steps; each step has four verbs:

- `submit(item)`: hand an item to the step. Returning does *not* imply it was
  processed: a batching step may hold it until `poll` or `join`.
- `poll()`: let the step make time-based progress (e.g. flush a batch that is old enough).
- `close()`: no more `submit` calls will follow.
- `join(timeout)`: finish everything submitted so far (flush held items downstream).

The chains the services use (`transform_steps`, `sink_steps`):

    Decode → Batch(count, time) → RunTask(process, retries) → [Finish] → ProduceResults → DeadLetter → CommitOffsets
    Decode → Batch(count, time) → RunTask(effect, retries)  →                             DeadLetter → CommitOffsets

`RunTask(max_in_flight=2)` pipelines batches: while batch k+1 runs in the task thread (the
GPU), the loop's thread admits the next messages (`Decode`), finishes batch k (`Finish`:
signing, encoding), publishes it and commits. Batches leave `RunTask` in the order they
came in, so offsets are committed in order, each after its batch's acks.

Items that fail (undecodable, or the user callable says so) flow *through* the chain as
`Failure` outcomes so that offsets stay in order; `DeadLetter` writes them to
`<topic>.dlq` and `CommitOffsets` commits after every effect of the batch is acknowledged.
That is the one commit point: delivery is at-least-once, effects must be idempotent.

The loop (`StreamProcessor`) knows nothing about what the callables do. While a batch runs
(in a worker thread) it pauses the assigned partitions and keeps polling, so a long GPU
batch does not get the member removed from its group. SIGTERM/SIGINT finish the in-flight
batch, commit and return; committed offsets only increase per partition (`CommittedOffsets`).

One module per step: `messages` (what flows), `step` (the protocol, `Forward`, `Terminal`),
`decode`, `batch`, `run_task`, `finish`, `produce`, `dead_letter`, `commit` (the commit point
and the offsets invariant), `chains` (the services' chains), `rebalance` and `processor` (the loop).
"""

from services.stream.batch import Batch
from services.stream.chains import sink_steps, transform_steps
from services.stream.commit import CommitOffsets, CommittedOffsets
from services.stream.dead_letter import DeadLetter, dead_letter
from services.stream.decode import Decode
from services.stream.finish import Finish
from services.stream.messages import (Computed, Done, Failure, Interrupted, Item, Message, Outcome, Produce,
                                      Rejected, RetryPolicy, TransientError, reason_of)
from services.stream.processor import StreamProcessor
from services.stream.produce import ProduceResults, Producer, publish
from services.stream.run_task import RunTask
from services.stream.step import Forward, ProcessingStep, StreamContext, Terminal

__all__ = [
    "Message", "Produce", "Done", "Failure", "Computed", "Outcome", "Item", "Rejected", "TransientError", "Interrupted",
    "RetryPolicy", "Producer", "publish", "reason_of", "dead_letter",
    "ProcessingStep", "StreamContext", "Forward", "Terminal", "Decode", "Batch", "RunTask", "Finish",
    "ProduceResults", "DeadLetter", "CommitOffsets", "CommittedOffsets", "StreamProcessor", "transform_steps",
    "sink_steps",
]
