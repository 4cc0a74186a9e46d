"""Issue 23 defect 11: the statement PDF — a test-model banner on every page, lines in time
order, one number of decimals, a per-day axis without gaps, page numbers, per-payer totals."""

from __future__ import annotations

from datetime import UTC, datetime

from pypdf import PdfReader

from ledger.payouts.arithmetic import CloseMark, Timeline
from ledger.statements.files import RENDERERS, daily_series, fixed_decimals
from ledger.statements.lines import EventInfo, build_statements, summarise
from tests.payouts.test_pay_files import NOV, fmt

ARTIST = "artist:van-gogh"


def _render(tmp_path, test_model: bool = True) -> list[str]:
    later, earlier = datetime(2026, 11, 21, 9, tzinfo=UTC), datetime(2026, 11, 20, 9, tzinfo=UTC)
    rows = [  # seq order is not time order: the 21st was entered before the 20th
        {"seq": 1, "event_id": "e-21st", "kind": "reward", "debit_account": "platform:acme", "credit_account": ARTIST,
         "amount": 100_000, "occurred_at": later, "memo": None},
        {"seq": 2, "event_id": "e-20th", "kind": "reward", "debit_account": "platform:beta", "credit_account": ARTIST,
         "amount": 4_000, "occurred_at": earlier, "memo": None},
        {"seq": 3, "event_id": "e-20th-b", "kind": "reward", "debit_account": "platform:acme", "credit_account": ARTIST,
         "amount": 2_500_000, "occurred_at": earlier, "memo": None},
    ]
    events = {e: EventInfo("a harbour", "tiny-sd", {ARTIST: "0.5"}, test_model) for e in ("e-21st", "e-20th", "e-20th-b")}
    statements = build_statements(NOV, "USD", rows, Timeline("monthly", [CloseMark(NOV, 3)]), events)
    summary = summarise(NOV, "USD", statements, True, ledger_payouts=0)
    RENDERERS["pdf"](tmp_path, statements, summary, fmt)
    return [page.extract_text() for page in PdfReader(tmp_path / "statements-2026-11-USD.pdf").pages]


def test_every_page_is_numbered_and_says_test_model(tmp_path):
    pages = _render(tmp_path)
    assert len(pages) == 2
    for number, page in enumerate(pages, start=1):
        assert f"page {number}" in page and "SHARES MEAN NOTHING" in page
    (tmp_path / "plain").mkdir()
    plain = _render(tmp_path / "plain", test_model=False)
    assert not any("SHARES MEAN NOTHING" in page for page in plain) and "page 2" in plain[1]


def test_lines_are_in_time_order_with_one_number_of_decimals_and_per_payer_totals(tmp_path):
    page = _render(tmp_path)[1]
    assert page.index("e-20th") < page.index("e-21st")
    amounts = [line for line in page.splitlines() if line[:1].isdigit() and "." in line and ":" not in line
               and line.count(".") == 1 and line.replace(".", "").isdigit()]
    assert {"0.100", "0.004", "2.500"} <= set(amounts) and "0.10" not in amounts and "2.50" not in amounts
    assert {len(a.partition(".")[2]) for a in amounts if a != "0.5000"} == {3}  # shares keep their 4 digits
    flat = " ".join(page.split())
    assert "Credits per payer: platform:acme: 2.600 (2), platform:beta: 0.004 (1)" in flat


def test_padding_never_rounds_and_the_day_axis_has_no_gaps():
    fixed = fixed_decimals(fmt, [100_000, 4_000, 1_234_567])
    assert [fixed(100_000), fixed(4_000), fixed(1_234_567), fixed(-567_000)] == \
        ["0.100000", "0.004000", "1.234567", "-0.567000"]
    assert daily_series({"2026-11-20": 5, "2026-11-23": 7}) == [
        ("2026-11-20", 5), ("2026-11-21", 0), ("2026-11-22", 0), ("2026-11-23", 7)]
    assert daily_series({}) == []
