"""A tiny stream used by the stream tests: echo JSON messages, misbehaving on request.

Message values are JSON objects `{"n": int, "mode": ...}`; mode `ok` (default) echoes,
`fail` is a permanent failure, `flaky` always raises TransientError, `flaky-once`
raises it on the first attempt only, `sleep` takes `seconds` in the batch.
Run as `python -m tests.services.svc_echo_app BOOTSTRAP SOURCE TARGET GROUP [SLEEP_PER_MESSAGE]`.
"""

from __future__ import annotations

import json
import sys
import time

from services.kafka import make_consumer, make_producer
from services.observability import StreamMetrics, configure_logging
from services.stream import (
    Failure,
    Message,
    Produce,
    RetryPolicy,
    StreamProcessor,
    TransientError,
    transform_steps,
)


def decode(value: bytes) -> dict:
    data = json.loads(value)
    if not isinstance(data, dict) or not isinstance(data.get("n"), int):
        raise ValueError("an echo message is a JSON object with an integer n")
    return data


def make_process(sleep_per_message: float = 0.0):
    seen: set[int] = set()

    def process(messages: list[Message]) -> list:
        outcomes = []
        for message in messages:
            mode = message.payload.get("mode", "ok")
            time.sleep(message.payload.get("seconds", 0) if mode == "sleep" else sleep_per_message)
            if mode == "flaky" or (mode == "flaky-once" and message.payload["n"] not in seen):
                seen.add(message.payload["n"])
                raise TransientError(f"message {message.payload['n']} is flaky")
            if mode == "fail":
                outcomes.append(Failure(f"message {message.payload['n']} cannot be echoed", "EchoError"))
            else:
                outcomes.append(Produce(json.dumps({"echo": message.payload["n"]}).encode()))
        return outcomes

    return process


def build(bootstrap: str, source: str, target: str, group: str, *, sleep_per_message: float = 0.0,
          batch_size: int = 8, batch_wait_s: float = 0.2, max_poll_interval_ms: int = 60_000,
          metrics: StreamMetrics | None = None) -> StreamProcessor:
    consumer = make_consumer(bootstrap, group, session_timeout_ms=6000, heartbeat_interval_ms=1000,
                             max_poll_interval_ms=max_poll_interval_ms)
    producer = make_producer(bootstrap)
    return StreamProcessor(
        consumer, [source],
        lambda context: transform_steps(context, decode=decode, process=make_process(sleep_per_message),
                                        producer=producer, output_topic=target, batch_size=batch_size,
                                        batch_wait_s=batch_wait_s, retry=RetryPolicy(attempts=3, backoff_s=0.05)),
        service="echo", metrics=metrics, close_with=[producer],
    )


if __name__ == "__main__":
    configure_logging("echo")
    bootstrap, source, target, group = sys.argv[1:5]
    sleep = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    build(bootstrap, source, target, group, sleep_per_message=sleep).run(handle_signals=True)
