"""Issue 23 defect 4 and dead letters a person can act on: every rejected event is named by
its id, `dead-letters FILE` reads what `ingest` writes, and `dead-letters replay FILE`
books what was refused once the cause is fixed — once, however often it is replayed."""

from __future__ import annotations

import json
import random

from ledger.crypto import generate_private_key, public_key_pem
from services.signing import sign_event


from tests.pipeline.test_pipe_ingest import _write


def test_rejected_events_are_named_and_replayed_once_the_cause_is_fixed(any_pipeline, tmp_path):
    pipeline = any_pipeline
    rng = random.Random(11)
    beta_key = generate_private_key()
    good = pipeline.event(rng)
    from services.demo import sample_event

    early = [sign_event(sample_event(rng, "beta"), beta_key) for _ in range(2)]  # beta is not registered yet
    events = tmp_path / "events.jsonl"
    _write(events, [good, *early, b"{not json"])

    ingested = pipeline.cli("ingest", str(events))
    assert ingested.exit_code == 1
    for event in early:
        assert f"rejected {event['event_id']}: " in ingested.output
    assert "line 4: rejected (no valid event id): " in ingested.output

    dlq = tmp_path / "events.dlq.jsonl"
    shown = pipeline.cli("dead-letters", str(dlq))
    assert shown.exit_code == 0, shown.output
    for event in early:
        assert f"event {event['event_id']} rejected by the ingest" in shown.output
    assert shown.output.count("platform 'beta' is not registered") + shown.output.count("beta") >= 2
    as_json = [json.loads(line) for line in pipeline.cli("dead-letters", str(dlq), "--json").stdout.splitlines()]
    assert [letter["event_id"] for letter in as_json] == [early[0]["event_id"], early[1]["event_id"], None]

    pem = tmp_path / "beta.pub.pem"
    pem.write_bytes(public_key_pem(beta_key.public_key()))
    assert pipeline.cli("platforms", "add", "beta", "--public-key", str(pem)).exit_code == 0
    replayed = pipeline.cli("dead-letters", "replay", str(dlq), "--json")
    assert replayed.exit_code == 1, replayed.output  # the line that is not JSON is refused again
    report = json.loads(replayed.stdout)
    assert report["counts"] == {"recorded": 2, "duplicate": 0, "rejected": 1}
    again = json.loads(pipeline.cli("dead-letters", "replay", str(dlq), "--json").stdout)
    assert again["counts"]["recorded"] == 0 and again["counts"]["duplicate"] == 2
    pipeline.assert_paid_exactly_once([good, *early])


def test_dead_letter_files_are_read_safely(any_pipeline, tmp_path):
    missing = any_pipeline.cli("dead-letters", str(tmp_path / "nothing.dlq.jsonl"))
    assert missing.exit_code == 2 and "does not exist" in missing.output
    odd = tmp_path / "odd.dlq.jsonl"
    odd.write_bytes(b'{"schema": "fairsplit.deadletter.v1", "reason": "\x1b[2Jx"}\nnot json\n')
    result = any_pipeline.cli("dead-letters", str(odd))
    assert result.exit_code == 0 and "\x1b" not in result.output and "line 2: not a dead letter" in result.output
    both = any_pipeline.cli("dead-letters", str(odd), "--topic")
    assert both.exit_code == 2 and "not both" in both.output
    alone = any_pipeline.cli("dead-letters", "replay")
    assert alone.exit_code == 2 and "needs a dead-letter FILE or --topic" in alone.output
