"""The statement PDF is written as its payees are read (issue 20): the writer holds one
payee's lines at a time, makes each table of lines as the one before is placed, and its
memory grows with the file it writes, not with the lines it has read."""

from __future__ import annotations

import gc
import tracemalloc
import weakref
from datetime import UTC, datetime, timedelta

from pypdf import PdfReader

from ledger.payouts.arithmetic import CloseMark, Timeline
from ledger.statements.files import RENDERERS
from ledger.statements.layout import Flowing, PdfParts
from ledger.statements.lines import EventInfo, Statement, build_statements, summarise
from tests.payouts.test_pay_files import NOV, fmt

START = datetime(2026, 11, 2, 8, tzinfo=UTC)


class Lines(list):
    """A statement's lines that a test can hold a weak reference to."""


def payee(number: int, lines: int) -> Statement:
    """Payee `number`'s statement, built from `lines` reward rows (amounts with 3 to 6 decimals)."""
    account = f"artist:payee-{number:04d}"
    rows = [{"seq": number * 10_000 + i + 1, "event_id": f"e-{number}-{i}", "kind": "reward",
             "debit_account": "platform:acme", "credit_account": account, "amount": 1_000 + 7 * i + number,
             "occurred_at": START + timedelta(minutes=lines - i), "memo": None} for i in range(lines)]
    events = {row["event_id"]: EventInfo("a harbour at dusk", "tiny-sd", {account: "0.25"}) for row in rows}
    (statement,) = build_statements(NOV, "USD", rows, Timeline("monthly", [CloseMark(NOV, 10**9)]), events)
    statement.lines = Lines(statement.lines)
    return statement


def render(out_dir, payees: int, lines: int, watch=None):
    """The PDF of `payees` statements, the totals first and the lines streamed; `watch(k)`
    runs as the writer asks for payee k."""
    totals = [payee(n, lines).without_lines() for n in range(payees)]
    summary = summarise(NOV, "USD", totals, True, ledger_payouts=0)

    def full():
        for number in range(payees):
            if watch:
                watch(number)
            yield payee(number, lines)
    out_dir.mkdir(exist_ok=True)
    (path,) = RENDERERS["pdf"](out_dir, totals, summary, fmt, full)
    return path


def test_the_writer_holds_one_payee_at_a_time_and_prints_what_the_in_memory_pdf_prints(tmp_path):
    handed: list[weakref.ref] = []
    alive_when_asked: list[int] = []

    def watch(number: int) -> None:
        gc.collect()
        alive_when_asked.append(sum(ref() is not None for ref in handed))

    totals = [payee(n, 45).without_lines() for n in range(6)]
    summary = summarise(NOV, "USD", totals, True, ledger_payouts=0)

    def full():
        for number in range(6):
            watch(number)
            statement = payee(number, 45)
            handed.append(weakref.ref(statement.lines))
            yield statement
    (tmp_path / "streamed").mkdir()
    RENDERERS["pdf"](tmp_path / "streamed", totals, summary, fmt, full)
    # When payee k is asked for, payee k-1 may still be in hand (its section just ended), no earlier one.
    assert alive_when_asked == [0, 1, 1, 1, 1, 1]
    (tmp_path / "whole").mkdir()
    whole = [payee(n, 45) for n in range(6)]
    RENDERERS["pdf"](tmp_path / "whole", whole, summarise(NOV, "USD", whole, True, ledger_payouts=0), fmt)
    streamed, in_memory = ([page.extract_text() for page in PdfReader(folder / "statements-2026-11-USD.pdf").pages]
                           for folder in (tmp_path / "streamed", tmp_path / "whole"))
    assert streamed == in_memory
    text = "\n".join(streamed)
    assert len(streamed) == 1 + 6 * 2 and all(f"e-{n}-{i}" in text for n in range(6) for i in range(45))
    assert "0.001007" in text and "0.001000" in text  # 1_007 needs six decimals, so 1_000 gets them too (before its lines are read)


def test_layout_makes_each_table_as_the_one_before_is_placed(tmp_path):
    from reportlab.platypus import SimpleDocTemplate

    pdf = PdfParts()
    made, placed = [], []

    class Counting(SimpleDocTemplate):
        def afterFlowable(self, flowable) -> None:
            placed.append(flowable)

    def groups():
        for number in range(120):
            made.append(number)
            assert len(made) <= len(placed) + 1, "a table was made before the one before it was placed"
            yield [pdf.table([["n", "amount"], [str(number), "0.25"]], [100, 100], amounts=[1])]
    Counting(str(tmp_path / "tables.pdf")).build(Flowing(groups()))
    assert len(made) == 120 and len(placed) >= 120
    assert "119" in PdfReader(tmp_path / "tables.pdf").pages[-1].extract_text()


def test_memory_grows_with_the_file_not_with_the_lines(tmp_path):
    """Four times the payees: the writer's peak (after the first page and its charts) grows
    by a few bytes per byte of PDF written; lines held would cost a hundred times more."""
    peaks, sizes = [], []
    for payees in (5, 20):
        def watch(number: int) -> None:
            if number == 0:
                gc.collect()
                tracemalloc.start()
        path = render(tmp_path / f"p{payees}", payees, 40, watch)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        sizes.append(path.stat().st_size)
    assert sizes[1] - sizes[0] > 50_000  # fifteen payees more, two pages each
    assert peaks[1] - peaks[0] < 8 * (sizes[1] - sizes[0]), (peaks, sizes)
