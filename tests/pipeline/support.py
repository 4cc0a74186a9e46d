"""Helpers of the pipeline tests: a ledger database with a registered platform and artists,
the two services as real subprocesses (`python -m cli serve …`), signed events."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select, text
from typer.testing import CliRunner

from cli import app
from ledger.crypto import generate_private_key, public_key_pem
from services.demo import DEMO_ARTISTS, sample_event
from services.signing import sign_event

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = "acme"


@dataclass
class Pipeline:
    """A migrated ledger with platform `acme` and the demo artists registered."""

    database_url: str
    key_dir: Path
    workdir: Path
    platform_key: object
    engine: object = None
    children: dict[str, subprocess.Popen] = field(default_factory=dict)

    def cli(self, *args: str):
        return self.cli_with(["--key-dir", str(self.key_dir)], *args)

    def cli_with(self, options: list[str], *args: str):
        """The CLI on this pipeline's database with other global options (e.g. another --key-dir)."""
        return CliRunner().invoke(app, ["--database-url", self.database_url, *options, *args])

    def event(self, rng: random.Random, platform_key=None, **changes) -> dict:
        body = {**sample_event(rng, PLATFORM), **changes}
        return sign_event(body, platform_key or self.platform_key)

    def landed(self, event_ids: list[str]) -> int:
        from ledger.books.schema import EVENTS

        with self.engine.connect() as connection:
            return connection.execute(
                select(func.count()).select_from(EVENTS).where(EVENTS.c.event_id.in_(event_ids))
            ).scalar()

    def assert_paid_exactly_once(self, events: list[dict]) -> None:
        """Each event's rewards add up to its reward, and no payee is paid twice for one event."""
        with self.engine.connect() as connection:
            per_event = dict(connection.execute(text(
                "SELECT event_id, SUM(amount) FROM transfers WHERE kind = 'reward' GROUP BY event_id")).all())
            duplicates = connection.execute(text(
                "SELECT COUNT(*) FROM (SELECT event_id, credit_account FROM transfers "
                "GROUP BY event_id, credit_account HAVING COUNT(*) > 1) d")).scalar()
        assert duplicates == 0
        for event in events:
            assert int(per_event[event["event_id"]]) == micros(event)

    # --- services as processes ---------------------------------------------------

    def start(self, service: str, bootstrap: str, prefix: str, name: str | None = None) -> subprocess.Popen:
        """Start `fairsplit serve SERVICE`; `name` tells apart several of one service (a group)."""
        name = name or service
        env = {
            **os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
            "FAIRSPLIT_DATABASE_URL": self.database_url, "FAIRSPLIT_KEY_DIR": str(self.key_dir),
            "FAIRSPLIT_KAFKA_BOOTSTRAP": bootstrap, "FAIRSPLIT_TOPIC_PREFIX": prefix,
            "FAIRSPLIT_KAFKA_PARTITIONS": "2", "FAIRSPLIT_KAFKA_SESSION_TIMEOUT_MS": "6000",
            "FAIRSPLIT_BATCH_SIZE": "4",  # several batches per test, so a kill can land between them
        }
        log = (self.workdir / f"{name}.log").open("ab")
        process = subprocess.Popen([sys.executable, "-m", "cli", "serve", service], cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
        self.children[name] = process
        return process

    def kill(self, service: str) -> None:
        process = self.children.pop(service)
        process.send_signal(signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for process in self.children.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.children.values():
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
        self.children.clear()

    def log(self, service: str) -> str:
        return (self.workdir / f"{service}.log").read_text(errors="replace")

    def wait_landed(self, event_ids: list[str], timeout_s: float = 180.0) -> int:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            n = self.landed(event_ids)
            if n >= len(event_ids):
                return n
            for name, process in self.children.items():
                assert process.poll() is None, f"{name} died:\n{self.log(name)[-3000:]}"
            time.sleep(0.5)
        return self.landed(event_ids)


def micros(event: dict) -> int:
    """An event's reward in micro-units (money is never a float)."""
    return int(Decimal(event["reward"]["amount"]) * 1_000_000)


def demo_gallery(sources, artist) -> Path:
    """The folder of `artist`'s demo gallery (two images the tiny model renders of its style
    phrase), rendered once per session beside the session's model cache: rendering was most
    of a pipeline's setup."""
    from fairsplit.profiles import load_profile
    from services.demo import render_gallery

    folder = Path(sources.cache_dir).parent / f"{Path(sources.cache_dir).name}-galleries" / artist.artist_id
    if not folder.is_dir():
        staging = folder.with_name(f"{artist.artist_id}.partial")
        shutil.rmtree(staging, ignore_errors=True)
        render_gallery(load_profile("tiny", sources), artist, staging, count=2)
        staging.rename(folder)
    return folder


def make_pipeline(database_url: str, tmp_path: Path, sources=None) -> Pipeline:
    from ledger.books.db import make_engine

    key = generate_private_key()
    pem = tmp_path / "acme.pub.pem"
    pem.write_bytes(public_key_pem(key.public_key()))
    pipeline = Pipeline(database_url, tmp_path / "keys", tmp_path, key)
    assert pipeline.cli("init").exit_code == 0
    assert pipeline.cli("platforms", "add", PLATFORM, "--public-key", str(pem)).exit_code == 0
    enrolled = pipeline.cli("keys", "enroll", "attribution-worker")  # an operator's explicit act
    assert enrolled.exit_code == 0, enrolled.output
    from fairsplit.sources import ModelSources

    sources = sources or ModelSources(cache_dir=Path(os.environ["FAIRSPLIT_MODEL_CACHE"]))
    for artist in DEMO_ARTISTS:
        folder = shutil.copytree(demo_gallery(sources, artist), tmp_path / "galleries" / artist.artist_id)
        result = pipeline.cli("artists", "add", artist.artist_id, "--name", artist.name, "--gallery", str(folder), "--profile", "tiny")
        assert result.exit_code == 0, result.output
    pipeline.engine = make_engine(database_url)
    return pipeline


def dlq_records(bootstrap: str, topic: str, count: int, timeout_s: float = 60.0) -> list[dict]:
    """The dead letters of `topic`, read without joining a group, once `count` arrived."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(topic) or {0}
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        consumer.seek_to_beginning()
        records: list[dict] = []
        deadline = time.monotonic() + timeout_s
        while len(records) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(json.loads(r.value) for r in batch)
        return records
    finally:
        consumer.close()


def wait_consumed(bootstrap: str, prefix: str, timeout_s: float = 120.0) -> None:
    """Until both services committed every record of their input topics: whatever was
    published before the call has been fully handled (booked, skipped or dead-lettered)."""
    from kafka import KafkaConsumer, TopicPartition

    from services.runners import EVENTS_TOPIC, RESULTS_TOPIC, WORKER_GROUP, WRITER_GROUP

    behind: dict = {}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        behind = {}
        for group, topic in ((WORKER_GROUP, EVENTS_TOPIC), (WRITER_GROUP, RESULTS_TOPIC)):
            consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=prefix + group, enable_auto_commit=False)
            try:
                partitions = [TopicPartition(prefix + topic, p) for p in consumer.partitions_for_topic(prefix + topic) or ()]
                for tp, end in consumer.end_offsets(partitions).items():
                    committed = consumer.committed(tp) or 0
                    if committed < end:
                        behind[f"{prefix}{group} {tp.topic}[{tp.partition}]"] = f"{committed} of {end}"
            finally:
                consumer.close(autocommit=False)
        if not behind:
            return
        time.sleep(0.5)
    raise AssertionError(f"the services did not consume everything within {timeout_s:.0f} s: {behind}")
