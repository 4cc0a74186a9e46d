"""Trust is enrolled, never granted on the way: no command or service registers a key by
itself, and the ledger writer books only what an enrolled worker signed *and* the platform
signed — tried as an attacker would, through the real broker and PostgreSQL."""

from __future__ import annotations

import json
import os
import random

import pytest
from sqlalchemy import func, select

from commands.settings import read_settings
from commands.wiring import worker_task
from ledger.crypto import generate_private_key, key_id, write_private_key
from ledger.money import format_amount, parse_amount
from ledger.books.schema import SERVICE_KEYS
from services.attribution_worker import encode_record, load_worker_key
from services.kafka import dlq_topic
from services.runners import KafkaSettings
from services.signing import sign_event
from services.stream import Message, Produce
from tests.pipeline.support import PLATFORM, dlq_records

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _service_keys(pipeline) -> int:
    with pipeline.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(SERVICE_KEYS)).scalar()


def test_a_fresh_key_dir_registers_nothing_and_every_command_says_how_to_enrol(sqlite_pipeline, tmp_path):
    pipeline = sqlite_pipeline
    before = _service_keys(pipeline)
    (tmp_path / "empty.jsonl").write_text("")
    evil = ["--key-dir", str(tmp_path / "evil")]
    for args in (["ingest", str(tmp_path / "empty.jsonl")], ["serve", "attribution", "--bootstrap", "127.0.0.1:9"]):
        result = pipeline.cli_with(evil, *args)
        assert result.exit_code == 2, result.output
        assert "keys enroll attribution-worker" in result.output and "Traceback" not in result.output
    assert _service_keys(pipeline) == before
    weak = tmp_path / "weak"
    write_private_key(weak / "attribution-worker.pem", generate_private_key()).chmod(0o644)
    result = pipeline.cli_with(["--key-dir", str(weak)], "ingest", str(tmp_path / "empty.jsonl"))
    assert result.exit_code == 2 and "must be 600" in result.output


def _results(pipeline, rng) -> tuple[list[bytes], dict]:
    """Signed results as the real worker makes them (tiny models), and what attacks are made of."""
    settings = read_settings({**os.environ, "FAIRSPLIT_DATABASE_URL": pipeline.database_url,
                              "FAIRSPLIT_KEY_DIR": str(pipeline.key_dir)})
    task = worker_task(settings, pipeline.engine)
    honest = pipeline.event(rng)
    unknown_platform_key = generate_private_key()
    forged_event = pipeline.event(rng, platform_key=unknown_platform_key, reward={"amount": "500.00", "currency": "USD"})
    message = Message("t", 0, 0, None, json.dumps(honest).encode(), payload=json.dumps(honest).encode())
    (computed,) = task([message])
    finished = task.finish(message, computed.value)
    assert isinstance(finished, Produce)
    good = json.loads(finished.value)
    worker = load_worker_key(pipeline.key_dir).private_key
    # a stolen (enrolled) worker key re-signs a result for an event the platform never signed
    minted = sign_event({**good, "event": forged_event, "event_id": forged_event["event_id"],
                         "reward": forged_event["reward"]}, worker)
    # the same worker key pays an artist the event does not name
    stranger = sign_event({**good, "players": good["players"] + [
        {"id": "mallory", "account": "artist:mallory", "kind": "artist", "recognised": True}]}, worker)
    # a key nobody enrolled signs a copy of the honest result
    attacker = generate_private_key()
    unenrolled = sign_event({**good, "worker_key_id": key_id(attacker.public_key())}, attacker)
    return [encode_record(r) for r in (minted, stranger, unenrolled)], good


def test_the_writer_books_only_results_backed_by_an_enrolled_worker_and_the_platform(pipeline, kafka_bootstrap, prefix):
    rng = random.Random(8)
    attacks, good = _results(pipeline, rng)
    settings = KafkaSettings(kafka_bootstrap, partitions=2, prefix=prefix)
    from services.kafka import ensure_topics, make_producer

    ensure_topics(kafka_bootstrap, settings.all_topics(), 2)
    producer = make_producer(kafka_bootstrap)
    for value in [*attacks, encode_record(good)]:
        producer.send(settings.results, key=b"k", value=value)
    producer.flush()
    producer.close()
    pipeline.start("ledger", kafka_bootstrap, prefix)
    assert pipeline.wait_landed([good["event_id"]]) == 1
    letters = dlq_records(kafka_bootstrap, dlq_topic(settings.results), len(attacks))
    reasons = sorted(letter["reason"] for letter in letters)
    assert len(reasons) == 3
    assert any("not signed by an active key of platform acme" in r for r in reasons)
    assert any("does not match the platform's event: players" in r for r in reasons)
    assert any("which is not enrolled" in r for r in reasons)
    assert all(len(r) <= 300 for r in reasons)
    balance = json.loads(pipeline.cli("balance", f"platform:{PLATFORM}", "--json").stdout)["balances"][0]["amount"]
    assert balance == format_amount(-parse_amount(good["reward"]["amount"], "USD"), "USD")  # the honest event only
    assert pipeline.cli("ledger", "verify").exit_code == 0
