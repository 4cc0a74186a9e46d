"""Statement files and signed manifests, from plain rows (the database tests cover the rest)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfReader

from ledger.manifest import read_manifest, verify_manifest, write_manifest
from ledger.money import format_amount
from ledger.payouts import CloseMark, Timeline
from ledger.periods import parse_period
from ledger.statement_files import RENDERERS
from ledger.statements import EventInfo, build_statements, summarise

NOV = parse_period("2026-11")


def fmt(micros: int) -> str:
    return format_amount(micros, "USD")


@dataclass(frozen=True)
class KeyPair:
    key_id: str
    private_key: Ed25519PrivateKey

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


def sample():
    when = datetime(2026, 11, 3, 9, tzinfo=UTC)
    rows = [
        {"seq": 1, "event_id": "e1", "kind": "reward", "debit_account": "platform:p",
         "credit_account": "artist:van-gogh", "amount": 2_345_678, "occurred_at": when, "memo": None},
        {"seq": 2, "event_id": "e1", "kind": "reward", "debit_account": "platform:p",
         "credit_account": "model:sd", "amount": 1_000_000, "occurred_at": when, "memo": None},
        {"seq": 3, "event_id": "payout:2026-11:USD", "kind": "payout", "debit_account": "artist:van-gogh",
         "credit_account": "payouts:USD", "amount": 2_340_000, "occurred_at": when, "memo": None},
        {"seq": 4, "event_id": "payout:2026-11:USD", "kind": "payout", "debit_account": "model:sd",
         "credit_account": "payouts:USD", "amount": 1_000_000, "occurred_at": when, "memo": None},
    ]
    timeline = Timeline("monthly", [CloseMark(NOV, 4)])
    events = {"e1": EventInfo("a man <with> a hat", "sd", {"artist:van-gogh": "0.7011"})}
    statements = build_statements(NOV, "USD", rows, timeline, events)
    return statements, summarise(NOV, "USD", statements, True, ledger_payouts=3_340_000)


def render_all(out_dir):
    statements, summary = sample()
    return [path for name in ("csv", "json", "pdf") for path in RENDERERS[name](out_dir, statements, summary, fmt)]


def test_csv_total_row_equals_the_summary(tmp_path):
    render_all(tmp_path)
    with (tmp_path / "statements-2026-11-USD.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["account"] for r in rows] == ["artist:van-gogh", "model:sd", "TOTAL"]
    assert rows[0]["payout"] == "2.34" and rows[0]["carried_forward"] == "0.005678"
    assert rows[-1]["payout"] == "3.34" and rows[-1]["credits_total"] == "3.345678"
    with (tmp_path / "lines-2026-11-USD.csv").open() as handle:
        lines = list(csv.DictReader(handle))
    assert lines[0]["content"] == "a man <with> a hat" and lines[0]["share"] == "0.7011"


def test_json_is_decimal_strings(tmp_path):
    render_all(tmp_path)
    document = json.loads((tmp_path / "statements-2026-11-USD.json").read_text())
    assert document["summary"]["payouts"] == {"count": 2, "total": "3.34"}
    assert document["summary"]["reconciles"] is True
    assert document["statements"][0]["credits_by_model"] == {"sd": {"count": 1, "total": "2.345678"}}


def test_pdf_reads_back_with_payee_period_and_totals(tmp_path):
    render_all(tmp_path)
    reader = PdfReader(tmp_path / "statements-2026-11-USD.pdf")
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) == 3
    for needle in ("2026-11", "artist:van-gogh", "model:sd", "3.34", "2.345678", "0.005678", "a man <with> a hat"):
        assert needle in text
    assert reader.pages[0].images, "the summary page carries the chart"


def test_manifest_signature_verifies_and_catches_changes(tmp_path):
    files = render_all(tmp_path)
    key = Ed25519PrivateKey.generate()
    write_manifest(tmp_path, files, KeyPair("k1", key), {"period": "2026-11", "currency": "USD"})
    manifest = read_manifest(tmp_path)
    assert sorted(entry["name"] for entry in manifest["files"]) == sorted(path.name for path in files)
    assert verify_manifest(tmp_path, key.public_key()) == []
    assert verify_manifest(tmp_path, Ed25519PrivateKey.generate().public_key())[0].startswith("The manifest signature")
    csv_path = tmp_path / "statements-2026-11-USD.csv"
    csv_path.write_text(csv_path.read_text().replace("3.34", "4.34"))
    assert verify_manifest(tmp_path, key.public_key()) == [
        "statements-2026-11-USD.csv has changed: its SHA-256 no longer matches the manifest."
    ]
    forged = json.loads((tmp_path / "manifest.json").read_text())
    forged["subject"]["period"] = "2026-10"
    (tmp_path / "manifest.json").write_text(json.dumps(forged))
    assert any("signature" in problem for problem in verify_manifest(tmp_path, key.public_key()))
