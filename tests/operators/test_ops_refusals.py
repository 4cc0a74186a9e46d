"""Issue 23 defects 6, 9, 10 and issue 19 items 12 (dead-letter files) and 13 (settings
checked when read): each refusal is one sentence, exit 2, and changes nothing."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from cli import app
from services.ingest import DeadLetterFile, DeadLetterFileError


def _one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in output, output
    return lines[0]


def test_an_unsupported_database_url_is_one_sentence_exit_2(tmp_path):
    result = CliRunner().invoke(app, ["--database-url", "mysql://x/y", "ledger", "verify"])
    assert result.exit_code == 2, result.output
    assert "--database-url must be a sqlite:///path.db or postgresql://" in _one_error_line(result.output)
    env = CliRunner().invoke(app, ["balance", "artist:x"], env={"FAIRSPLIT_DATABASE_URL": "mysql://x/y"})
    assert env.exit_code == 2 and "FAIRSPLIT_DATABASE_URL must be" in _one_error_line(env.output)


@pytest.mark.parametrize("origin", ["my log", "a+b", "log\u00e9", "x" * 256])
def test_a_bad_log_origin_is_refused_when_read(cli, env, origin):
    result = cli("ledger", "checkpoint", env={"FAIRSPLIT_LEDGER_ORIGIN": origin})
    assert result.exit_code == 2, result.output
    assert "FAIRSPLIT_LEDGER_ORIGIN must be at most 255 printable ASCII" in _one_error_line(result.output)
    option = cli("ledger", "checkpoint", "--origin", origin)
    assert option.exit_code == 2 and "--origin must be" in _one_error_line(option.output)
    from sqlalchemy import text
    with env.engine.connect() as connection:  # nothing was signed
        assert connection.execute(text("SELECT count(*) FROM checkpoints")).scalar_one() == 0


def test_a_good_origin_still_signs(cli):
    result = cli("ledger", "checkpoint", "--origin", "example.com/fairsplit", "--json")
    assert result.exit_code == 0 and json.loads(result.output)["origin"] == "example.com/fairsplit"


def test_dead_letters_are_appended_never_truncated(tmp_path):
    path = tmp_path / "events.dlq.jsonl"
    path.write_bytes(b'{"earlier":"run"}\n')
    letters = DeadLetterFile(path)
    letters.send("t", None, b'{"new":1}')
    letters.close()
    assert path.read_bytes() == b'{"earlier":"run"}\n{"new":1}\n'


def test_dead_letters_never_go_through_a_symlink_or_to_a_special_file(tmp_path):
    precious = tmp_path / "precious.txt"
    precious.write_bytes(b"keep me\n")
    link = tmp_path / "a.dlq.jsonl"
    link.symlink_to(precious)
    with pytest.raises(DeadLetterFileError, match="symbolic link"):
        DeadLetterFile(link).send("t", None, b"x")
    assert precious.read_bytes() == b"keep me\n"
    fifo = tmp_path / "b.dlq.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(DeadLetterFileError, match="not a regular file"):
        DeadLetterFile(fifo).send("t", None, b"x")


def test_ingest_refuses_a_symlinked_dead_letter_file_before_doing_anything(cli, env, tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text('{"not": "an event"}\n')
    precious = tmp_path / "precious.txt"
    precious.write_bytes(b"keep me\n")
    (tmp_path / "events.dlq.jsonl").symlink_to(precious)
    result = cli("ingest", str(events))
    assert result.exit_code == 2 and "symbolic link" in _one_error_line(result.output)
    assert precious.read_bytes() == b"keep me\n"


def test_rotate_key_onto_an_existing_file_points_to_key_out(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli("platforms", "add", "acme").exit_code == 0
    result = cli("platforms", "rotate-key", "acme")
    assert result.exit_code == 2 and "--key-out" in _one_error_line(result.output)
    fresh = cli("platforms", "rotate-key", "acme", "--key-out", str(tmp_path / "acme-2.pem"))
    assert fresh.exit_code == 0, fresh.output


def test_statements_verify_offline_without_a_ledger_points_to_public_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"key_id": "k", "files": {}}))
    result = CliRunner().invoke(app, ["statements", "verify", str(folder)])
    line = _one_error_line(result.output)
    assert result.exit_code == 2 and "--public-key" in line and "fairsplit init" not in line


def test_exporting_a_period_that_has_not_ended_says_when_it_can_be_closed(cli, tmp_path):
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    period = f"{now.year:04d}-{now.month:02d}"
    result = cli("statements", "export", period, "--format", "csv", "--out", str(tmp_path / "s"))
    line = _one_error_line(result.output)
    assert result.exit_code == 2 and "not over yet" in line and "close it first" not in line


def test_a_missing_default_model_is_one_whole_sentence_naming_the_way_out(cli, tmp_path):
    gallery = tmp_path / "gallery"
    gallery.mkdir()
    missing = tmp_path / ("no-such-model-" + "x" * 120)
    result = cli("artists", "add", "van-gogh", "--name", "Vincent", "--gallery", str(gallery),
                 env={"FAIRSPLIT_GENERATOR_MODEL": str(missing), "HF_HUB_OFFLINE": "1"})
    line = _one_error_line(result.output)
    assert result.exit_code == 2 and "--profile tiny" in line and "FAIRSPLIT_GENERATOR_MODEL" in line
    assert line.endswith(".") and len(line) < 300 and "FutureWarning" not in result.output


def test_history_at_80_columns_keeps_date_kind_counterparty_and_currency(cli, env):
    from datetime import UTC, datetime

    from ledger.books.store import TransferSpec

    when = datetime(2026, 11, 24, 12, 5, tzinfo=UTC)
    env.ledger.append([
        TransferSpec("6f000001-1a2b-4c3d-8e4f-5a6b7c8d9e0f", "platform:acme", "artist:van-gogh", 10_000_000, "EUR",
                     "reward", when),
        TransferSpec("6f000002-1a2b-4c3d-8e4f-5a6b7c8d9e0f", "platform:acme", "model:sd-1.5", 1_763_039, "USD",
                     "reward", when)])
    shown = cli("history", "platform:acme", env={"COLUMNS": "80", "LINES": "40"}).output
    assert max(len(line) for line in shown.splitlines()) <= 80
    flat = " ".join(shown.split())
    for fragment in ("2026-11-24 12:05", "reward", "artist:van-gogh", "model:sd-1.5", "-10.00", "EUR", "-1.763039", "USD",
                     "6f000001-1a2b-4c3d-8e4f-5a6b7c8d9e0f", "pending"):
        assert fragment in flat, fragment
    wide = cli("history", "platform:acme", env={"COLUMNS": "200", "LINES": "40"}).output
    assert any("-10.00 EUR" in line and "2026-11-24 12:05" in line and "artist:van-gogh" in line for line in wide.splitlines())


def test_keys_list_keeps_times_and_holders_on_one_line(cli, env):
    assert cli("keys", "enroll", "attribution-worker").exit_code == 0
    shown = cli("keys", "list", env={"COLUMNS": "80", "LINES": "40"}).output
    rows = [line for line in shown.splitlines() if "attribution-worker" in line]
    assert len(rows) == 1 and rows[0].split()[-1].count(":") == 1 and rows[0].split()[-2].count("-") == 2


@pytest.mark.parametrize(("args", "expected"), [
    (["ledger", "prove"], "error: Missing argument 'entry' (see `fairsplit ledger prove --help`)."),
    (["ledger", "verify", "--jsn"], "error: No such option: --jsn (Possible options: --json, --since) (see `fairsplit ledger verify --help`)."),
    (["--bogus"], "error: No such option: --bogus (see `fairsplit --help`)."),
])
def test_usage_mistakes_are_one_sentence_not_a_box(args, expected):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, str(root / "cli.py"), *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.splitlines() == [expected] and result.stdout == ""
