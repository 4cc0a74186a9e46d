"""`fairsplit events show|list`: one event's story from the database (recorded or refused,
its attribution, transfers with seqs, reversals, periods) and lists with filters and pages,
on SQLite and PostgreSQL; refusals are one sentence."""

from __future__ import annotations

import json
import random

from ledger.crypto import generate_private_key
from services.demo import sample_event
from services.signing import sign_event
from tests.pipeline.test_pipe_ingest import _write


def _ingest(pipeline, tmp_path):
    rng = random.Random(23)
    good = [pipeline.event(rng) for _ in range(3)]
    refused = sign_event(sample_event(rng, "beta"), generate_private_key())  # beta is not registered
    events = tmp_path / "events.jsonl"
    _write(events, [*good, refused])
    assert pipeline.cli("ingest", str(events)).exit_code == 1
    return good, refused, tmp_path / "events.dlq.jsonl"


def test_events_show_tells_an_events_story(any_pipeline, tmp_path):
    pipeline = any_pipeline
    good, refused, dlq = _ingest(pipeline, tmp_path)
    event = good[0]
    story = json.loads(pipeline.cli("events", "show", event["event_id"], "--json").stdout)
    assert story["status"] == "pending" and story["platform_id"] == "acme" and story["content"] == event["content"]
    assert story["reward_amount"] == round(float(event["reward"]["amount"]) * 1_000_000)
    assert sum(int(round(float(a) * 1_000_000)) for a in story["payees"].values()) == story["reward_amount"]
    rewards = [t for t in story["transfers"] if t["kind"] == "reward"]
    assert rewards and all(t["from"] == "platform:acme" and t["period"] and t["seq"] > 0 for t in rewards)
    assert {t["to"] for t in rewards} == set(story["payees"])
    accounts = {p["account"] for p in story["attribution"]["players"]}
    assert {f"artist:{s['artist_id']}" for s in event["styles"]} <= accounts
    assert story["attribution"]["method"]["profile"] == "tiny"

    text = pipeline.cli("events", "show", event["event_id"])
    assert text.exit_code == 0 and f"Event {event['event_id']}: pending" in text.output
    assert "TEST MODEL" in text.output and str(rewards[0]["seq"]) in text.output

    assert pipeline.cli("ledger", "reverse", event["event_id"], "--reason", "withdrawn").exit_code == 0
    reversed_ = json.loads(pipeline.cli("events", "show", event["event_id"], "--json").stdout)
    assert reversed_["status"] == "reversed"
    assert [t["kind"] for t in reversed_["transfers"]].count("reversal") == len(rewards)

    shown = pipeline.cli("events", "show", refused["event_id"], "--dead-letters", str(dlq), "--json")
    assert shown.exit_code == 0, shown.output
    letter = json.loads(shown.stdout)
    assert letter["status"] == "refused" and "beta" in letter["reason"] and letter["dead_letter_file"] == str(dlq)


def test_events_list_filters_and_pages(any_pipeline, tmp_path):
    pipeline = any_pipeline
    good, _, _ = _ingest(pipeline, tmp_path)
    ids = {e["event_id"] for e in good}
    listed = json.loads(pipeline.cli("events", "list", "--json").stdout)
    assert {e["event_id"] for e in listed["events"]} == ids and listed["next_after"] is None
    assert json.loads(pipeline.cli("events", "list", "--platform", "beta", "--json").stdout)["events"] == []

    with_van_gogh = {e["event_id"] for e in good if any(s["artist_id"] == "van-gogh" for s in e["styles"])}
    paid = {e["event_id"] for e in json.loads(pipeline.cli("events", "list", "--artist", "van-gogh", "--json").stdout)["events"]}
    assert paid <= with_van_gogh and all("artist:van-gogh" in e["payees"] for e in
                                          json.loads(pipeline.cli("events", "list", "--artist", "van-gogh", "--json").stdout)["events"])

    first = json.loads(pipeline.cli("events", "list", "--limit", "2", "--json").stdout)
    assert len(first["events"]) == 2 and first["next_after"] == first["events"][-1]["event_id"]
    rest = json.loads(pipeline.cli("events", "list", "--limit", "2", "--after", first["next_after"], "--json").stdout)
    assert len(rest["events"]) == 1 and rest["next_after"] is None
    assert {e["event_id"] for e in first["events"] + rest["events"]} == ids

    pipeline.cli("ledger", "reverse", good[1]["event_id"], "--reason", "withdrawn")
    reversed_ = json.loads(pipeline.cli("events", "list", "--status", "reversed", "--json").stdout)["events"]
    assert [e["event_id"] for e in reversed_] == [good[1]["event_id"]]
    pending = json.loads(pipeline.cli("events", "list", "--status", "pending", "--json").stdout)["events"]
    assert {e["event_id"] for e in pending} == ids - {good[1]["event_id"]}
    occurred = good[0]["occurred_at"][:7]
    in_period = json.loads(pipeline.cli("events", "list", "--period", occurred, "--json").stdout)["events"]
    assert {e["event_id"] for e in in_period} == {e["event_id"] for e in good if e["occurred_at"].startswith(occurred)}
    table = pipeline.cli("events", "list")
    assert table.exit_code == 0 and "3 events." in table.output


def test_events_refusals_are_one_sentence(any_pipeline, tmp_path):
    pipeline = any_pipeline
    unknown = "0b7e8a52-4a4e-4b8e-9d61-0d7f3c1b2a11"
    for args, fragment in [
        (["events", "show", "NOT-AN-ID"], "is not an event id"),
        (["events", "show", unknown, "--dead-letters", str(tmp_path / "none.jsonl")], "is not recorded in this ledger"),
        (["events", "list", "--status", "paid"], "--status must be one of pending, closed, reversed"),
        (["events", "list", "--after", unknown], "is not recorded"),
        (["events", "list", "--after", "x"], "--after must be an event id"),
        (["events", "list", "--period", "2026-13"], ""),
        (["events", "list", "--artist", "platform:acme"], "is not an artist"),
    ]:
        result = pipeline.cli(*args)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code == 2 and len(lines) == 1 and fragment in lines[0], (args, result.output)
