"""The stream as a real process: SIGKILL loses nothing (at-least-once), SIGTERM drains and exits 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from services.kafka import ensure_topics

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def _start(bootstrap: str, topic: str, group: str, sleep: float, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.services.svc_echo_app", bootstrap, topic, f"{topic}.out", group, str(sleep)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("ab"),
    )


def _echoes(records) -> list[int]:
    return [json.loads(record.value)["echo"] for record in records]


def _inputs(count: int) -> list[bytes]:
    return [json.dumps({"n": n}).encode() for n in range(count)]


def test_sigkill_mid_stream_then_restart_redelivers(kafka_bootstrap, kafka_io, topic, tmp_path):
    ensure_topics(kafka_bootstrap, [topic, f"{topic}.out", f"{topic}.dlq"], partitions=1)
    kafka_io.produce(topic, _inputs(40))
    group, log = f"{topic}-g", tmp_path / "echo.log"

    first = _start(kafka_bootstrap, topic, group, 0.05, log)
    try:
        kafka_io.read(f"{topic}.out", 8, timeout_s=60)  # mid-stream: some batches are done
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    committed_at_kill = kafka_io.committed(group, topic)[0] or 0
    assert committed_at_kill < 40, "the kill came too late to test anything"

    second = _start(kafka_bootstrap, topic, group, 0.0, log)
    try:
        echoes = _echoes(kafka_io.read(f"{topic}.out", 40, timeout_s=60, settle_s=1.0))
        assert set(echoes) == set(range(40)), f"lost: {sorted(set(range(40)) - set(echoes))}"
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, log.read_text()[-2000:]
    assert kafka_io.committed(group, topic) == {0: 40}


def test_sigterm_finishes_the_batch_commits_and_exits_0(kafka_bootstrap, kafka_io, topic, tmp_path):
    ensure_topics(kafka_bootstrap, [topic, f"{topic}.out", f"{topic}.dlq"], partitions=1)
    kafka_io.produce(topic, _inputs(24))
    group, log = f"{topic}-g", tmp_path / "echo.log"

    process = _start(kafka_bootstrap, topic, group, 0.25, log)  # 2 s per batch of 8
    try:
        kafka_io.read(f"{topic}.out", 8, timeout_s=60)  # first batch out, the second in flight
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
    assert code == 0, log.read_text()[-2000:]
    committed = kafka_io.committed(group, topic)[0]
    echoes = _echoes(kafka_io.read(f"{topic}.out", committed, timeout_s=10, settle_s=0.5))
    assert committed >= 16, "the in-flight batch was not finished and committed"
    assert sorted(echoes) == list(range(committed)), "every committed message has exactly its result"
    assert '"signal, draining"' in log.read_text() or "signal, draining" in log.read_text()
