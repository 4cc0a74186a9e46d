"""`fairsplit ingest`: the pipeline without a broker, with a report per line, rejected lines
in FILE.dlq.jsonl, duplicates reported and never paid twice."""

from __future__ import annotations

import json
import random

from sqlalchemy import text

from services.contracts import parse_dead_letter
from services.signing import sign_event


def _write(path, lines) -> None:
    path.write_bytes(b"".join((line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n" for line in lines))


def test_ingest_reports_every_line_and_dead_letters_the_rejected(any_pipeline, tmp_path):
    pipeline = any_pipeline
    rng = random.Random(3)
    good = [pipeline.event(rng) for _ in range(3)]
    tampered = {**pipeline.event(rng), "seed": 1}
    banksy = pipeline.event(rng, styles=[{"artist_id": "banksy", "phrase": "by Banksy"}])
    conflicting = sign_event({**good[0], "content": "another image", "signature": None}, pipeline.platform_key)
    events = tmp_path / "events.jsonl"
    _write(events, [good[0], good[1], b"{not json", tampered, good[2], banksy, good[0], conflicting])

    result = pipeline.cli("ingest", str(events), "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    statuses = [(line["line"], line["status"]) for line in report["lines"]]
    assert statuses == [(1, "recorded"), (2, "recorded"), (3, "rejected"), (4, "rejected"),
                        (5, "recorded"), (6, "rejected"), (7, "duplicate"), (8, "rejected")]
    reasons = {line["line"]: line.get("reason", "") for line in report["lines"]}
    assert "not valid JSON" in reasons[3]
    assert "not signed by an active key of platform acme" in reasons[4]
    assert "not registered: banksy" in reasons[6]
    assert "first one stands" in reasons[8]

    letters = [parse_dead_letter(line) for line in (tmp_path / "events.dlq.jsonl").read_text().splitlines()]
    assert [letter.source.offset for letter in letters] == [3, 4, 6, 8]
    assert letters[0].original == b"{not json"

    def balance() -> str:
        return json.loads(pipeline.cli("balance", "platform:acme", "--json").stdout)

    paid = balance()
    again = json.loads(pipeline.cli("ingest", str(events), "--json").stdout)
    assert [line["status"] for line in again["lines"]].count("duplicate") == 4  # lines 1, 2, 5 and 7
    assert balance() == paid

    clean = tmp_path / "clean.jsonl"
    _write(clean, [pipeline.event(rng)])
    ok = pipeline.cli("ingest", str(clean))
    assert ok.exit_code == 0 and "1 recorded, 0 duplicate, 0 rejected" in ok.output
    assert "ingesting clean.jsonl: 0 of 1" in ok.output  # progress from the first second, as plain lines when piped
    with pipeline.engine.connect() as connection:  # an artist these events paid (the tiny models' split decides who)
        artist = connection.execute(text("SELECT credit_account FROM transfers WHERE kind = 'reward' "
                                         "AND credit_account LIKE 'artist:%' ORDER BY seq LIMIT 1")).scalar_one()
    said = pipeline.cli("balance", artist)
    assert "test model" in said.output  # every output of test-model money says so
    assert json.loads(pipeline.cli("history", artist, "--json").stdout)["test_model"] is True
    assert pipeline.cli("ledger", "verify").exit_code == 0
