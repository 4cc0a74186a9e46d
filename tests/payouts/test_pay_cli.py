"""The payouts, statements and reversal commands, end to end through the CLI, on both backends."""

from __future__ import annotations

import csv
import json
from fractions import Fraction

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from cli import app
from ledger.money import format_amount
from tests.payouts.support import MODEL, at, eid

SHARES = {"artist:van-gogh": Fraction(2, 3), "artist:monet": Fraction(1, 6), MODEL: Fraction(1, 6)}


@pytest.fixture
def cli(env):
    runner = CliRunner()
    base = ["--database-url", env.url, "--key-dir", env.key_dir]

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(app, [*base, *args])
        assert result.exit_code == code, result.output
        assert "Traceback" not in result.output
        return result.output

    return invoke


def test_close_export_reconcile_and_verify(env, cli, tmp_path):
    for n in range(6):
        env.reward(f"e{n}", at(1 + n, 10), 1_230_000, SHARES, content=f"a lighthouse {n}")  # 0.82 + 0.205 + 0.205
    closed = json.loads(cli("payouts", "close", "2026-10", "--min-payout", "1.50", "--json"))
    assert closed["checkpoint"]["tree_size"] > 0  # every close signs a tree head covering its payouts
    decisions = {d["account"]: d for d in closed["closed"][0]["decisions"]}
    assert decisions["artist:van-gogh"]["paid"] == "4.92" and decisions["artist:van-gogh"]["carried"] == "0.00"
    assert decisions["artist:monet"]["reason"] == decisions[MODEL]["reason"] == "below-minimum"  # 1.23 < 1.50
    assert decisions["artist:monet"]["carried"] == "1.23"
    assert env.balance("payouts:USD") == 4_920_000
    assert "already closed" in cli("payouts", "close", "2026-10")
    assert env.balance("payouts:USD") == 4_920_000

    out = tmp_path / "export"
    said = cli("statements", "export", "2026-10", "--format", "csv,json,pdf", "--out", str(out))
    assert "payouts 4.92 = ledger 4.92" in said
    with (out / "statements-2026-10-USD.csv").open() as handle:
        rows = {row["account"]: row for row in csv.DictReader(handle)}
    assert rows["TOTAL"]["payout"] == "4.92" and rows["TOTAL"]["credits_total"] == "7.38"
    assert rows["TOTAL"]["closing"] == format_amount(sum(env.balance(a) for a in SHARES), "USD") == "2.46"
    assert rows["artist:monet"]["carried_forward"] == "1.23"
    document = json.loads((out / "statements-2026-10-USD.json").read_text())
    assert document["summary"]["ledger_payouts"] == "4.92" and document["summary"]["reconciles"]
    text = "\n".join(page.extract_text() for page in PdfReader(out / "statements-2026-10-USD.pdf").pages)
    for needle in ("period 2026-10", "artist:van-gogh", "artist:monet", MODEL, "4.92", "2.46", "a lighthouse 3"):
        assert needle in text
    assert "Manifest intact" in cli("statements", "verify", str(out))
    (out / "statements-2026-10-USD.json").write_text(json.dumps(document).replace("4.92", "5.92"))
    assert "has changed" in cli("statements", "verify", str(out), code=1)


def test_reverse_list_and_period_views(env, cli):
    env.reward("e1", at(5, 9), 3_000_000, SHARES)
    env.reward("e2", at(6, 10), 6_000_000, SHARES)
    cli("payouts", "close", "2026-09")
    reversed_ = json.loads(cli("ledger", "reverse", eid("e1"), "--reason", "withdrawn", "--json"))
    assert len(reversed_["reversals"]) == 3 and all(r["reverses_id"] for r in reversed_["reversals"])
    assert "already reversed" in cli("ledger", "reverse", eid("e1"), "--reason", "again", code=2)
    assert "not an event id" in cli("ledger", "reverse", "ghost", "--reason", "x", code=2)
    assert "no reward transfers" in cli("ledger", "reverse", eid("ghost"), "--reason", "x", code=2)
    assert "not a period id" in cli("payouts", "close", "Sept", code=2)

    october = json.loads(cli("balance", "van-gogh", "--period", "2026-10", "--json"))["balances"][0]
    assert october == {"currency": "USD", "period": "2026-10", "status": "open", "opening": "0.00",
                       "earned": "2.00", "paid": "0.00", "pending": "2.00"}  # 4.00 earned − 2.00 clawed back late
    history = json.loads(cli("history", "van-gogh", "--period", "2026-10", "--json"))["transfers"]
    assert [(t["kind"], t["late"], t["status"]) for t in history] == [("reversal", True, "pending"),
                                                                      ("reward", False, "pending")]
    september = json.loads(cli("balance", "van-gogh", "--period", "2026-09", "--json"))["balances"][0]
    assert (september["status"], september["paid"], september["pending"]) == ("closed", "2.00", "0.00")

    cli("payouts", "close", "2026-10")
    listed = json.loads(cli("payouts", "list", "--json"))["closes"]
    assert [(c["period"], c["paid_total"]) for c in listed] == [("2026-10", "3.00"), ("2026-09", "3.00")]
    only = json.loads(cli("payouts", "list", "--period", "2026-10", "--json"))["closes"]
    assert {p["account"]: p["amount"] for p in only[0]["payouts"]} == {
        "artist:monet": "0.50", "artist:van-gogh": "2.00", MODEL: "0.50"}  # each 1.00 earned − 0.50 clawed back
    assert "transfers verified" in cli("ledger", "verify")  # payouts and reversals are ordinary chained rows


def test_hostile_arguments_are_one_sentence(env, cli):
    env.reward("e1", at(3, 10), 1_000_000, SHARES)
    assert "largest allowed" in cli("payouts", "close", "2026-10", "--min-payout", "99999999999999999999", code=2)
    assert "plain decimal" in cli("payouts", "close", "2026-10", "--min-payout", "1\u0660", code=2)
    assert "'[/]' is not a period id" in cli("payouts", "close", "[/]", code=2)
    assert "out of range" in cli("payouts", "close", "9999-13", code=2) or "months run" in cli(
        "payouts", "close", "9999-13", code=2)
    assert "before the ledger's first USD period (2026-10)" in cli("payouts", "close", "2016-10", code=2)
    assert env.balance("payouts:USD") == 0  # nothing was closed by any of them


def test_statements_export_and_verify_only_what_holds(env, cli, tmp_path):
    env.reward("e1", at(3, 10), 3_000_000, SHARES)
    cli("payouts", "close", "2026-10")
    assert "before the ledger's first USD period" in cli("statements", "export", "2016-10", "--format", "csv",
                                                          "--out", str(tmp_path / "old"), code=2)
    assert not (tmp_path / "old").exists()  # a refused export leaves nothing behind
    (tmp_path / "taken.txt").write_text("mine")
    assert "not an empty folder" in cli("statements", "export", "2026-10", "--format", "csv",
                                        "--out", str(tmp_path / "taken.txt"), code=2)
    assert (tmp_path / "taken.txt").read_text() == "mine"

    out = tmp_path / "export"
    cli("statements", "export", "2026-10", "--format", "csv,json", "--out", str(out))
    keys = tmp_path / "ledger-keys.pem"
    cli("keys", "public", "--out", str(keys))
    offline = CliRunner().invoke(app, ["--database-url", "sqlite:////nonexistent/x.db", "statements", "verify", str(out),
                                       "--public-key", str(keys)])
    assert offline.exit_code == 0 and "Manifest intact" in offline.output  # no database needed

    (out / "statements-2026-10-USD.pdf").write_bytes(b"%PDF-1.4 not the ledger's")  # planted, never signed
    planted = cli("statements", "verify", str(out), "--public-key", str(keys), code=1)
    assert "statements-2026-10-USD.pdf is in the folder but not in the signed manifest" in planted
    assert "already exists" not in planted and "Traceback" not in planted
    again = cli("statements", "export", "2026-10", "--format", "csv", "--out", str(out), code=2)
    assert "not an empty folder" in again  # re-exporting into an export folder is refused, never mixed


def test_a_file_the_user_owns_is_never_overwritten(env, cli, tmp_path):
    existing = tmp_path / "keys.pem"
    existing.write_text("precious")
    assert "is a file that exists" in cli("keys", "public", "--out", str(existing), code=2)
    assert existing.read_text() == "precious"
    cli("keys", "public", "--out", str(existing), "--force")
    assert "BEGIN PUBLIC KEY" in existing.read_text()
    assert "folder" in cli("keys", "public", "--out", str(tmp_path / "nodir" / "k.pem"), code=2)
    assert "Wrote the ledger's public keys to" in cli("keys", "public", "--out", str(tmp_path / "new.pem"))
