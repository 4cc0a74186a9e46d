"""The ledger CLI: init, ledger verify, balance, history, for people and for programs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from ledger.books.db import head_revision

ROOT = Path(__file__).resolve().parents[2]


def _cli(url: str, key_dir: Path):
    runner = CliRunner()
    base = ["--database-url", url, "--key-dir", str(key_dir)]

    def invoke(*args: str):
        return runner.invoke(app, [*base, *args])

    return invoke


@pytest.fixture
def cli(migrated_database_url, tmp_path):
    """The CLI on a database at head (`init` still makes the signing key)."""
    return _cli(migrated_database_url, tmp_path / "keys")


@pytest.fixture
def fresh_cli(database_url, tmp_path):
    """The CLI on an empty database."""
    return _cli(database_url, tmp_path / "keys")


def test_init_is_idempotent_and_says_what_it_did(fresh_cli):
    cli = fresh_cli
    head = head_revision()
    first = cli("init")
    assert first.exit_code == 0 and f"upgraded from nothing to {head}" in first.output
    assert "created and registered" in first.output
    second = cli("init")
    assert second.exit_code == 0 and f"already at {head}" in second.output and "in use" in second.output


def test_balance_history_and_verify(cli):
    cli("init")
    assert "Booked 9 new" in cli("ledger", "demo").output
    assert "0 new" in cli("ledger", "demo").output
    shown = json.loads(cli("balance", "van-gogh", "--json").output)
    assert shown == {"account": "artist:van-gogh", "balances": [{"currency": "USD", "amount": "0.015", "paid_out": "0.00"}],
                     "test_model": False}
    assert "0.015" in cli("balance", "artist:van-gogh").output
    history = json.loads(cli("history", "platform:demo", "--json", "--limit", "2").output)
    assert [t["seq"] for t in history["transfers"]] == [13, 12]  # seq 1 is the key genesis entry, 2-4 the evidence start and demo keys
    assert history["transfers"][0]["amount"] == "-0.003" and history["transfers"][0]["counterparty"] == "model:sd-1.5"
    # genesis key entry, evidence start, demo platform and worker keys, 3 events × 3 rewards
    verified = cli("ledger", "verify", "--json")
    assert verified.exit_code == 0 and json.loads(verified.output)["checked"] == 13
    assert "13 transfers verified" in cli("ledger", "verify").output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [(["balance", "Van Gogh"], "invalid id"), (["history", "bank:x"], "unknown kind")],
)
def test_user_mistakes_are_one_sentence(cli, args, fragment):
    cli("init")
    result = cli(*args)
    assert result.exit_code == 2 and fragment in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("account", ["nosuch", "artist:nosuch", "platform:nobody", "model:never-paid"])
def test_an_account_the_ledger_does_not_know_is_an_error_not_a_zero_balance(cli, account):
    cli("init")
    cli("ledger", "demo")
    for command in ("balance", "history"):
        result = cli(command, account)
        assert result.exit_code == 2, result.output
        assert "is not registered" in result.output or "has never been paid" in result.output
    assert cli("balance", "payouts:USD").exit_code == 0  # a currency's payouts account always exists


@pytest.mark.parametrize("hostile", ["artist:[/]", "[/]", "[bold]x", "artist:" + "a" * 5000])
def test_markup_and_huge_names_are_one_plain_sentence(cli, hostile):
    cli("init")
    result = cli("balance", hostile)
    assert result.exit_code == 2 and "Traceback" not in result.output and result.exception is None or isinstance(
        result.exception, SystemExit)
    assert len(result.output) < 400


def test_uninitialised_database_is_a_clear_error(fresh_cli):
    result = fresh_cli("balance", "van-gogh")
    assert result.exit_code == 2 and "fairsplit init" in result.output


def test_unreachable_database_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["--database-url", "postgresql://nobody@127.0.0.1:1/x", "balance", "x"])
    assert result.exit_code == 2 and "Cannot reach the database" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.slow  # real processes or real compute, seconds
def test_verify_as_a_real_process_fails_on_tampering(env, tmp_path):
    """End to end in a subprocess: exit 0 when intact, exit 1 naming the altered row."""
    from tests.ledger.support import WHEN

    from ledger.books.store import TransferSpec

    env.ledger.append([TransferSpec(f"e{i}", "artist:a", "payouts:USD", 10 + i, "USD", "payout", WHEN) for i in range(4)])
    command = [sys.executable, str(ROOT / "cli.py"), "--database-url", env.url, "--key-dir", env.key_dir, "ledger", "verify"]
    environ = {**os.environ, "PYTHONPATH": str(ROOT)}
    intact = subprocess.run(command, capture_output=True, text=True, env=environ, timeout=60)
    assert intact.returncode == 0, intact.stderr
    assert "4 transfers verified" in intact.stdout
    env.drop_trigger("transfers_no_update", "transfers")
    env.sql("UPDATE transfers SET debit_account = 'artist:mallory' WHERE seq = 3")
    broken = subprocess.run([*command, "--json"], capture_output=True, text=True, env=environ, timeout=60)
    assert broken.returncode == 1
    report = json.loads(broken.stdout)
    assert report["bad_seq"] == 3 and "hash mismatch" in report["problem"]
    human = subprocess.run(command, capture_output=True, text=True, env=environ, timeout=60)
    assert human.returncode == 1 and "seq 3" in human.stderr and "Traceback" not in human.stderr
