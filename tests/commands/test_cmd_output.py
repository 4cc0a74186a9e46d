"""What a person sees: tables that never cut money, ids or statuses at 80 columns, JSON that
carries every figure its table shows, progress that shows when piped, dead letters on demand."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from cli import app
from ledger.books.store import TransferSpec

NARROW = {"COLUMNS": "80", "LINES": "40"}


@pytest.fixture
def ledger_cli(env):
    def invoke(*args: str, code: int = 0):
        result = CliRunner().invoke(app, ["--database-url", env.url, "--key-dir", env.key_dir, *args], env=NARROW)
        assert result.exit_code == code, result.output
        return result

    return invoke


def _book(env, count: int) -> list[str]:
    ids = [f"6f{n:06d}-1a2b-4c3d-8e4f-5a6b7c8d9e0f" for n in range(count)]
    env.ledger.append([TransferSpec(event_id, "platform:a-rather-long-platform-name", "artist:van-gogh",
                                    123_456_789_012 + n, "USD", "reward", datetime(2026, 11, 24, 12, tzinfo=UTC))
                       for n, event_id in enumerate(ids)])
    return ids


def test_history_at_80_columns_keeps_money_ids_and_statuses_whole(env, ledger_cli):
    ids = _book(env, 3)
    shown = ledger_cli("history", "van-gogh").output
    assert max(len(line) for line in shown.splitlines()) <= 80
    assert "…" not in shown
    for n, event_id in enumerate(ids):
        assert event_id in shown and f"123456.789{12 + n:03d}" in shown
    assert shown.count("pending") == 3


def test_json_carries_every_figure_its_table_shows(env, ledger_cli):
    _book(env, 2)
    table = ledger_cli("balance", "van-gogh").output
    data = json.loads(ledger_cli("balance", "van-gogh", "--json").stdout)
    (row,) = data["balances"]
    assert row["amount"] in table and row["paid_out"] in table and row["currency"] in table
    assert data["test_model"] is False and "test model" not in table
    history = json.loads(ledger_cli("history", "van-gogh", "--json").stdout)["transfers"]
    assert {"period", "status", "late", "amount", "event_id", "counterparty", "kind", "seq"} <= set(history[0])


def test_a_command_that_writes_a_file_says_where(env, ledger_cli, tmp_path):
    _book(env, 2)
    ledger_cli("ledger", "checkpoint")
    _book_more = TransferSpec("6f999999-1a2b-4c3d-8e4f-5a6b7c8d9e0f", "platform:acme", "artist:monet", 5, "USD",
                              "reward", datetime(2026, 11, 24, 12, tzinfo=UTC))
    env.ledger.append([_book_more])
    ledger_cli("ledger", "checkpoint")
    said = ledger_cli("ledger", "consistency", "2", "3", "--out", str(tmp_path / "c.json")).output
    assert f"to {tmp_path / 'c.json'}" in said and json.loads((tmp_path / "c.json").read_text())["format"]


def test_dead_letters_are_readable_from_the_file_up_keeps(tmp_path):
    from services.contracts import DeadLetterV1

    letter = DeadLetterV1(original_base64="e30=", reason="invalid generation event: [/] unexpected field.",
                          error_class="Rejected", source={"topic": "generation.events", "partition": 1, "offset": 7},
                          failed_at=datetime(2026, 11, 25, 9, tzinfo=UTC), service="attribution-worker")
    (tmp_path / "dead-letters.jsonl").write_bytes(letter.to_json_bytes() + b"\n")
    shown = CliRunner().invoke(app, ["dead-letters", "--state-dir", str(tmp_path)])
    assert shown.exit_code == 0 and "generation.events[1]@7): invalid generation event: [/] unexpected field." in shown.output
    as_json = CliRunner().invoke(app, ["dead-letters", "--state-dir", str(tmp_path), "--json"])
    assert json.loads(as_json.stdout.splitlines()[0])["reason"] == letter.reason
    none = CliRunner().invoke(app, ["dead-letters", "--state-dir", str(tmp_path / "nowhere")])
    assert none.exit_code == 0 and "No dead letters" in none.output


@pytest.mark.kafka
def test_dead_letters_are_readable_from_a_broker(kafka_bootstrap):
    import uuid

    from services.contracts import DeadLetterV1
    from services.kafka import ensure_topics, make_producer

    prefix = f"dl{uuid.uuid4().hex[:6]}."
    topic = prefix + "attribution.results.dlq"
    ensure_topics(kafka_bootstrap, [topic], 1)
    letter = DeadLetterV1(original_base64="e30=", reason="result refused.", error_class="Refused",
                          source={"topic": prefix + "attribution.results", "partition": 0, "offset": 3},
                          failed_at=datetime(2026, 11, 25, 9, tzinfo=UTC), service="ledger-writer")
    producer = make_producer(kafka_bootstrap)
    producer.send(topic, value=letter.to_json_bytes()).get(30)
    producer.close()
    shown = CliRunner().invoke(app, ["dead-letters", "--bootstrap", kafka_bootstrap, "--topic-prefix", prefix])
    assert shown.exit_code == 0 and "ledger-writer" in shown.output and "result refused." in shown.output


def test_progress_shows_as_plain_lines_when_piped():
    from commands.progress import Activity

    import io
    import sys

    captured, real = io.StringIO(), sys.stderr
    sys.stderr = captured
    try:
        with Activity("ingesting events.jsonl", 3, interactive=False) as work:
            work.note("line 1: recorded")
            for _ in range(3):
                work.advance()
    finally:
        sys.stderr = real
    lines = captured.getvalue().splitlines()
    assert lines[0] == "ingesting events.jsonl: 0 of 3 (0 s)"
    assert "line 1: recorded" in lines and lines[-1].startswith("ingesting events.jsonl: 3 of 3")


def test_fresh_keeps_the_old_demo_database_aside(tmp_path):
    from commands.pipeline import _set_aside

    database = tmp_path / "fairsplit.db"
    database.write_bytes(b"old ledger")
    kept = _set_aside(f"sqlite:///{database}")
    assert not database.exists() and kept.read_bytes() == b"old ledger"
    assert _set_aside(f"sqlite:///{database}") is None
    refused = CliRunner().invoke(app, ["--database-url", f"sqlite:///{database}", "up", "--fresh"])
    assert refused.exit_code == 2 and "use it with --demo" in refused.output
