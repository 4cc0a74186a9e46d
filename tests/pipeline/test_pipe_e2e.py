"""End to end through the real broker and PostgreSQL: signed events in, transfers out;
every bad event in the dead-letter topic with its reason; nothing paid twice."""

from __future__ import annotations

import base64
import json
import random
from decimal import Decimal

import pytest
from sqlalchemy import text

from ledger.crypto import generate_private_key
from services.kafka import dlq_topic
from services.runners import KafkaSettings, emit
from services.signing import sign_event
from tests.pipeline.support import PLATFORM, dlq_records, micros, wait_consumed

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _publish(bootstrap: str, prefix: str, records: list[bytes]) -> None:
    keys = [str(i).encode() for i in range(len(records))]
    emit(KafkaSettings(bootstrap, partitions=2, prefix=prefix), records, keys)


def _bad_events(pipeline, rng) -> dict[str, tuple[bytes, str]]:
    """name → (raw bytes, what the dead-letter reason must say)."""
    stranger = generate_private_key()
    missing = pipeline.event(rng)
    del missing["content"]
    missing = sign_event(missing, pipeline.platform_key)
    tampered = pipeline.event(rng)
    tampered["reward"] = {"amount": "1000.0", "currency": "USD"}
    banksy = pipeline.event(rng, styles=[{"artist_id": "banksy", "phrase": "by Banksy"}])
    negative = pipeline.event(rng, reward={"amount": "-0.01", "currency": "USD"})
    unknown = pipeline.event(rng, stranger, platform_id="nobody")
    as_bytes = lambda e: json.dumps(e).encode()  # noqa: E731
    return {
        "malformed": (b'{"schema": "fairsplit.generation.v1", "event_id": ', "not valid JSON"),
        "schema": (as_bytes(missing), "content: required field is missing"),
        "signature": (as_bytes(tampered), "is not signed by an active key of platform acme"),
        "platform": (as_bytes(unknown), "platform 'nobody' is not registered"),
        "artist": (as_bytes(banksy), "not registered: banksy"),
        "negative": (as_bytes(negative), "is negative"),
    }


def _platform_balance(pipeline) -> int:
    """The platform's USD balance in micro-units, as `fairsplit balance --json` shows it."""
    shown = json.loads(pipeline.cli("balance", "platform:" + PLATFORM, "--json").output)
    [usd] = [b for b in shown["balances"] if b["currency"] == "USD"]
    return int(Decimal(usd["amount"]) * 1_000_000)


def _reward_sums(pipeline) -> dict[str, int]:
    with pipeline.engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT event_id, SUM(amount) FROM transfers WHERE kind = 'reward' GROUP BY event_id"))
        return {event_id: int(total) for event_id, total in rows}


def test_valid_events_are_paid_exactly_once_and_bad_ones_are_dead_lettered(pipeline, kafka_bootstrap, prefix):
    rng = random.Random(11)
    good = [pipeline.event(rng) for _ in range(6)]
    bad = _bad_events(pipeline, rng)
    mixed = [json.dumps(e).encode() for e in good[:3]] + [raw for raw, _ in bad.values()]
    mixed += [json.dumps(e).encode() for e in good[3:]]
    _publish(kafka_bootstrap, prefix, mixed)
    pipeline.start("attribution", kafka_bootstrap, prefix)
    pipeline.start("ledger", kafka_bootstrap, prefix)

    ids = [e["event_id"] for e in good]
    assert pipeline.wait_landed(ids) == len(good)

    # every bad event is dead-lettered with its original bytes and its reason
    letters = dlq_records(kafka_bootstrap, dlq_topic(prefix + "generation.events"), len(bad))
    by_original = {base64.b64decode(letter["original_base64"]): letter for letter in letters}
    assert len(letters) == len(bad)
    for name, (raw, reason) in bad.items():
        letter = by_original[raw]
        assert reason in letter["reason"], (name, letter["reason"])
        assert letter["source"]["topic"] == prefix + "generation.events"
        assert letter["service"] == "attribution-worker"

    # every valid event is paid exactly its reward, split between its players
    sums = _reward_sums(pipeline)
    assert sums == {event["event_id"]: micros(event) for event in good}

    # redelivered duplicates pay nothing more: once both services consumed everything, only the
    # sentinels were added, each exactly its reward, and the platform paid exactly those
    before = _platform_balance(pipeline)
    sentinels = [pipeline.event(rng) for _ in range(2)]
    _publish(kafka_bootstrap, prefix, [json.dumps(e).encode() for e in good + sentinels])
    assert pipeline.wait_landed([e["event_id"] for e in sentinels]) == 2
    wait_consumed(kafka_bootstrap, prefix)
    assert _reward_sums(pipeline) == {**sums, **{e["event_id"]: micros(e) for e in sentinels}}
    assert _platform_balance(pipeline) == before - sum(micros(e) for e in sentinels)

    verify = pipeline.cli("ledger", "verify", "--json")
    report = json.loads(verify.output)
    assert verify.exit_code == 0 and report["ok"] is True
    assert report["checkpoints"]["ok"] and report["checkpoints"]["checkpoints"] >= 1  # signed by the writer
