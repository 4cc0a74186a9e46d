"""`fairsplit dead-letters --topic` and `dead-letters replay --topic` on a real broker: each
letter is named by its event id, and replaying sends each original back, with its key, to
the services' input topic it came from — never anywhere else."""

from __future__ import annotations

import json
import uuid

import pytest
from typer.testing import CliRunner

from cli import app
from services.stream import Failure, Message, dead_letter

pytestmark = pytest.mark.kafka


@pytest.mark.slow  # real processes or real compute, seconds
def test_replay_sends_each_original_back_to_the_topic_it_came_from(kafka_bootstrap, kafka_io):
    prefix = f"r{uuid.uuid4().hex[:8]}."
    event_id, result_id = str(uuid.uuid4()), str(uuid.uuid4())
    event = json.dumps({"event_id": event_id, "schema": "fairsplit.generation.v1"}).encode()
    result = json.dumps({"event_id": result_id, "schema": "fairsplit.attribution.v1"}).encode()
    letters = [
        (prefix + "generation.events.dlq", dead_letter(Message(prefix + "generation.events", 0, 3, event_id.encode(), event),
                                                       Failure("platform 'beta' is not registered."), "attribution-worker")),
        (prefix + "attribution.results.dlq", dead_letter(Message(prefix + "attribution.results", 1, 9, None, result),
                                                         Failure("worker key revoked."), "ledger-writer")),
        (prefix + "generation.events.dlq", dead_letter(Message("elsewhere", 0, 1, None, b'{"event_id": "x"}'),
                                                       Failure("odd"), "attribution-worker")),
    ]
    for topic, letter in letters:
        kafka_io.produce(topic, [letter.to_json_bytes()], [b"k"])
    base = ["dead-letters", "--bootstrap", kafka_bootstrap, "--topic-prefix", prefix]

    shown = CliRunner().invoke(app, [*base, "--json"])
    assert shown.exit_code == 0, shown.output
    named = sorted((json.loads(line)["event_id"] or "-") for line in shown.stdout.splitlines())
    assert named == sorted([event_id, result_id, "-"])
    text = CliRunner().invoke(app, base)
    assert f"event {event_id} rejected by the attribution-worker ({prefix}generation.events[0]@3): platform" in text.output

    replayed = CliRunner().invoke(app, ["dead-letters", "replay", "--topic", "--bootstrap", kafka_bootstrap,
                                        "--topic-prefix", prefix, "--json"])
    assert replayed.exit_code == 0, replayed.output
    report = json.loads(replayed.stdout)
    assert report["letters"] == 3 and sorted(r["event_id"] for r in report["replayed"]) == sorted([event_id, result_id])
    (back,) = kafka_io.read(prefix + "generation.events", 1)
    assert back.value == event and back.key == event_id.encode()
    (again,) = kafka_io.read(prefix + "attribution.results", 1)
    assert again.value == result and again.key is None
