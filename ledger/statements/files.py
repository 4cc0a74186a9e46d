"""Statement files: CSV, JSON and PDF renderings of `ledger.statements.lines` results.

Every renderer takes the statements, the finance summary and `fmt` (micro-units ->
decimal string), writes into `out_dir` and returns the paths it wrote; given `full`, it
takes each statement's lines from that second pass, one statement at a time, so the
CSV and JSON files stream (the statements it was given then need only their totals). Amounts are
decimal strings everywhere; the charts plot integer micro-units and label their axes
with the same decimal strings.

- CSV: `statements-<P>-<CUR>.csv` (one row per payee, then a TOTAL row that equals the
  finance summary) and `lines-<P>-<CUR>.csv` (one row per transfer line). A text cell
  that a spreadsheet would run as a formula is neutralised (`csv_cell`).
- JSON: `statements-<P>-<CUR>.json` = {schema, summary, statements}.
- PDF: `statements-<P>-<CUR>.pdf`, to be read: on the first page the finance summary, the
  two charts (earnings per day, top payees) and the payees at a glance; then one section
  per payee with its totals, its credits per model and per payer, and its lines in time
  order. Amounts are written to one number of decimals and right-aligned on their decimal
  points; shares rounded to `SHARE_DIGITS` decimals (CSV and JSON keep them exact). Every
  page has a numbered footer; the per-day chart has every day of its range.

Shares a test model made mean nothing, and every file says so: a `test_model` column
(yes/no) in both CSVs, `test_model` fields in the JSON (summary, statement, line), and a
notice on the PDF's first page, repeated as a banner at the top of every later page.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from xml.sax.saxutils import escape

from ledger.statements.layout import Flowing, Formatter, PdfParts, decimals_of, fixed_decimals, packed_canvas, wrap
from ledger.statements.lines import (STATEMENT_SCHEMA, FinanceSummary, Statement, Tally, iso_time, statement_dict,
                               summary_dict)

#: The statements again, with their lines, one at a time (a second pass over the period,
#: so a renderer never holds every line); by default the `statements` it was given.
FullStatements = Callable[[], Iterable[Statement]]
_LINES_PER_TABLE = 30
SHARE_DIGITS = 4  # shares as the PDF prints them
WIDTH_CM = 26.2  # landscape A4 less the margins and the frame's padding: every table spans it
FORMATS = ("csv", "json", "pdf")

SUMMARY_COLUMNS = (
    "account", "currency", "period", "opening", "credits_count", "credits_total", "reversals_count",
    "reversals_total", "adjustments", "balance_before_payout", "payout", "carried_forward", "closing", "test_model",
)
LINE_COLUMNS = ("account", "seq", "event_id", "kind", "occurred_at", "late", "model_id", "content", "share",
                "amount", "memo", "test_model")


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def csv_cell(value: object) -> object:
    """A cell a spreadsheet shows as text, never runs (OWASP CSV injection): text that
    starts with = + - @, a tab or a carriage return gets a leading apostrophe; plain
    decimal numbers (our amounts, negative ones included) stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class _CsvWriter:
    """csv.writer whose every cell goes through `csv_cell`."""

    def __init__(self, handle) -> None:
        self._writer = csv.writer(handle)

    def writerow(self, row) -> None:
        self._writer.writerow([csv_cell(cell) for cell in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)


def stem(summary: FinanceSummary) -> str:
    return f"{summary.period}-{summary.currency}"


def _summary_row(statement: Statement, fmt: Formatter) -> list[str | int]:
    return [
        statement.account, statement.currency, statement.period, fmt(statement.opening),
        statement.credits.count, fmt(statement.credits.total), statement.reversals.count,
        fmt(statement.reversals.total), fmt(statement.adjustments), fmt(statement.before_payout),
        fmt(statement.payout), fmt(statement.carried_forward), fmt(statement.closing), _yes(statement.test_model),
    ]


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def write_csv(out_dir: Path, statements: list[Statement], summary: FinanceSummary, fmt: Formatter,
              full: FullStatements | None = None) -> list[Path]:
    totals = out_dir / f"statements-{stem(summary)}.csv"
    with totals.open("w", newline="") as handle:
        writer = _CsvWriter(handle)
        writer.writerow(SUMMARY_COLUMNS)
        writer.writerows(_summary_row(statement, fmt) for statement in statements)
        before = summary.opening + summary.credits.total - summary.reversals.total + summary.adjustments
        writer.writerow([
            "TOTAL", summary.currency, summary.period, fmt(summary.opening), summary.credits.count,
            fmt(summary.credits.total), summary.reversals.count, fmt(summary.reversals.total),
            fmt(summary.adjustments), fmt(before), fmt(summary.payouts.total),
            fmt(summary.carried_forward), fmt(summary.closing), _yes(summary.test_model),
        ])
    lines = out_dir / f"lines-{stem(summary)}.csv"
    with lines.open("w", newline="") as handle:
        writer = _CsvWriter(handle)
        writer.writerow(LINE_COLUMNS)
        for statement in (full or (lambda: statements))():
            for line in statement.lines:
                writer.writerow([
                    statement.account, line.seq, line.event_id, line.kind, iso_time(line.occurred_at),
                    _yes(line.late), line.model_id or "", line.content or "", line.share or "",
                    fmt(line.amount), line.memo or "", _yes(line.test_model),
                ])
    return [totals, lines]


def write_json(out_dir: Path, statements: list[Statement], summary: FinanceSummary, fmt: Formatter,
               full: FullStatements | None = None) -> list[Path]:
    """{schema, statements, summary}, written one statement at a time: the bytes of
    `json.dumps(document, indent=2, sort_keys=True)`, without the document in memory."""
    path = out_dir / f"statements-{stem(summary)}.json"

    def dumped(value: object, indent: str) -> str:
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).replace("\n", "\n" + indent)

    with path.open("w") as handle:
        handle.write('{\n  "schema": ' + json.dumps(STATEMENT_SCHEMA) + ',\n  "statements": [')
        count = 0
        for statement in (full or (lambda: statements))():
            handle.write((",\n    " if count else "\n    ") + dumped(statement_dict(statement, fmt), "    "))
            count += 1
        handle.write(("\n  ]" if count else "]") + ',\n  "summary": ' + dumped(summary_dict(summary, fmt), "  ") + "\n}\n")
    return [path]


def daily_series(per_day: dict[str, int]) -> list[tuple[str, int]]:
    """Every day from the first to the last with earnings, 0 on the days without: the axis
    of a time chart must not skip days (a gap is information)."""
    from datetime import date, timedelta

    if not per_day:
        return []
    first, last = date.fromisoformat(min(per_day)), date.fromisoformat(max(per_day))
    days = [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
    return [(day, per_day.get(day, 0)) for day in days]


def chart_png(summary: FinanceSummary, fmt: Formatter, size: tuple[float, float] = (10, 4.2)) -> bytes:
    """Earnings per day and top payees (each bar labelled with its amount), side by side, as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.ticker import FuncFormatter

    label = FuncFormatter(lambda value, _pos: fmt(int(round(value))))
    figure, (per_day, top) = pyplot.subplots(1, 2, figsize=size, dpi=110)
    series = daily_series(summary.earnings_per_day)
    days = [day for day, _ in series]
    per_day.bar(range(len(days)), [amount for _, amount in series], color="#3b7dd8")
    per_day.set_xticks(range(len(days)), [day[5:] for day in days], rotation=60, fontsize=7)
    per_day.yaxis.set_major_formatter(label)
    per_day.tick_params(axis="y", labelsize=7)
    per_day.set_title(f"Earnings per day ({summary.currency})", fontsize=10)
    names = [account for account, _ in reversed(summary.top_payees)]
    amounts = [amount for _, amount in reversed(summary.top_payees)]
    bars = top.barh(range(len(names)), amounts, color="#e08a2c")
    top.bar_label(bars, [fmt(amount) for amount in amounts], padding=3, fontsize=7)
    top.set_xlim(0, max(amounts, default=1) * 1.2)  # room for the labels
    top.set_yticks(range(len(names)), names, fontsize=7)
    top.xaxis.set_major_formatter(label)
    top.tick_params(axis="x", labelsize=7, labelrotation=30)
    top.set_title(f"Top payees ({summary.currency})", fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    pyplot.close(figure)
    return buffer.getvalue()


def share_text(share: str | None) -> str:
    """A share as the PDF prints it: rounded to SHARE_DIGITS decimals (CSV and JSON keep the exact value)."""
    if not share:
        return ""
    try:
        return f"{float(share):.{SHARE_DIGITS}f}"
    except ValueError:
        return share


def test_model_notice(statements: list[Statement]) -> str | None:
    """What the PDF says, once and on its first page, when test-model shares are in it."""
    if not any(statement.test_model for statement in statements):
        return None
    rewards = sum(statement.reward_lines for statement in statements)
    tested = sum(statement.test_model_rewards for statement in statements)
    return (f"{tested} of the {rewards} reward lines in this file come from events attributed with a test "
            "model: their shares and amounts exercise the software and measure no one's style.")


def write_pdf(out_dir: Path, statements: list[Statement], summary: FinanceSummary, fmt: Formatter,
              full: FullStatements | None = None) -> list[Path]:
    """The finance summary, the payees at a glance and the charts on the first page; then
    one section per payee, each on a new page. The first page needs only the totals
    (`statements`, lines or not); the sections are laid out as `full` hands the payees
    out, a table of lines at a time (`Flowing`), so the writer holds one payee's lines,
    never the period's."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import cm
    from reportlab.platypus import SimpleDocTemplate

    path = out_dir / f"statements-{stem(summary)}.pdf"
    pdf = PdfParts()
    fixed = fixed_decimals(fmt, _amounts(statements, summary))

    def story() -> Iterator[list]:
        yield _first_page(pdf, statements, summary, fixed)
        yield from _payees_at_a_glance(pdf, statements, summary, fixed)
        for statement in (full or (lambda: statements))():
            yield from _payee_section(pdf, statement, fixed)
    decorate = _page_decoration(f"fairsplit statements {summary.period} {summary.currency}",
                                test_model_notice(statements) is not None)
    SimpleDocTemplate(str(path), pagesize=landscape(A4), title=f"fairsplit statements {stem(summary)}",
                      leftMargin=1.5 * cm, rightMargin=1.5 * cm, topMargin=1.3 * cm, bottomMargin=1.3 * cm).build(
        Flowing(story()), onFirstPage=decorate, onLaterPages=decorate, canvasmaker=packed_canvas())
    return [path]


def _amounts(statements: list[Statement], summary: FinanceSummary) -> list[int]:
    """Every amount the PDF prints, or one with as many decimals: a line amount is stood
    for by its statement's `line_decimals` (its lines may not be in memory)."""
    found = [summary.opening, summary.credits.total, summary.reversals.total, summary.adjustments,
             summary.payouts.total, summary.carried_forward, summary.closing]
    for statement in statements:
        found += [statement.opening, statement.credits.total, statement.reversals.total, statement.adjustments,
                  statement.payout, statement.carried_forward, statement.closing,
                  10 ** (6 - statement.line_decimals)]
        found += [line.amount for line in statement.lines]
        found += [tally.total for tally in statement.credits_by_model.values()]
    return found


def _page_decoration(title: str, test_model: bool):
    """Every page: its number and the document's name in the footer; after the first, the
    test-model banner again (a page read alone must still say the shares mean nothing)."""
    from reportlab.lib import colors
    from reportlab.lib.units import cm

    def decorate(canvas, document) -> None:
        width, height = document.pagesize
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawRightString(width - 1.5 * cm, 0.6 * cm, f"{title} · page {document.page}")
        if test_model and document.page > 1:
            canvas.setFillColor(colors.HexColor("#c0392b"))
            canvas.rect(1.5 * cm, height - 1.05 * cm, width - 3 * cm, 0.5 * cm, fill=1, stroke=0)
            canvas.setFillColor(colors.white)
            canvas.setFont("Helvetica-Bold", 8.5)
            canvas.drawString(1.7 * cm, height - 0.88 * cm,
                              "TEST MODEL: SHARES MEAN NOTHING (see the first page for what this means).")
        canvas.restoreState()
    return decorate


def _first_page(pdf: PdfParts, statements: list[Statement], summary: FinanceSummary, fmt: Formatter) -> list:
    from reportlab.lib import colors
    from reportlab.lib.units import cm
    from reportlab.platypus import Image, Paragraph, Spacer, Table, TableStyle

    cur = summary.currency
    before = summary.opening + summary.credits.total - summary.reversals.total + summary.adjustments
    story = [
        Paragraph(f"Statements for {summary.period} ({cur})", pdf.title),
        Paragraph(f"fairsplit · period {summary.status} · {summary.payees} payees · reconciles with the ledger: "
                  f"<b>{'yes' if summary.reconciles else 'NO'}</b> · amounts in {cur}, "
                  f"shares rounded to {SHARE_DIGITS} decimals (exact values in the CSV and JSON files)", pdf.body),
        Spacer(1, 0.3 * cm),
    ]
    notice = test_model_notice(statements)
    if notice:
        box = Table([[Paragraph(f"<b>TEST MODEL: SHARES MEAN NOTHING.</b> {escape(notice)}", pdf.notice)]],
                    colWidths=[WIDTH_CM * cm], hAlign="LEFT")
        box.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#c0392b")),
                                 ("TOPPADDING", (0, 0), (-1, -1), 6), ("BOTTOMPADDING", (0, 0), (-1, -1), 7),
                                 ("LEFTPADDING", (0, 0), (-1, -1), 8)]))
        story += [box, Spacer(1, 0.3 * cm)]
    totals = pdf.table([
        ["Finance summary", cur],
        ["Opening balance", fmt(summary.opening)],
        [f"+ Credits ({summary.credits.count} lines)", fmt(summary.credits.total)],
        [f"− Reversals ({summary.reversals.count})", fmt(summary.reversals.total)],
        ["± Adjustments", fmt(summary.adjustments)],
        ["= Balance before payout", fmt(before)],
        [f"− Payouts ({summary.payouts.count})", fmt(summary.payouts.total)],
        ["= Carried forward", fmt(summary.carried_forward)],
        ["Closing balance", fmt(summary.closing)],
        [f"Moved to payouts:{cur} (ledger)", "" if summary.ledger_payouts is None else fmt(summary.ledger_payouts)],
        ["Late lines (earlier periods)", str(summary.late_lines)],
    ], [5.6 * cm, 3.2 * cm], amounts=[1])
    charts = Image(io.BytesIO(chart_png(summary, fmt)), width=17.2 * cm, height=7.22 * cm)
    side_by_side = Table([[totals, charts]], colWidths=[9.0 * cm, (WIDTH_CM - 9.0) * cm], hAlign="LEFT")
    side_by_side.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return story + [side_by_side, Spacer(1, 0.35 * cm), Paragraph("Payees", pdf.heading), Spacer(1, 0.1 * cm)]


def _payees_at_a_glance(pdf: PdfParts, statements: list[Statement], summary: FinanceSummary,
                        fmt: Formatter) -> Iterator[list]:
    """One row per payee and a total, in small tables made as they are placed."""
    from reportlab.lib.units import cm

    widths = [6.2 * cm] + [3.0 * cm, 3.2 * cm, 1.6 * cm, 3.0 * cm, 3.0 * cm, 3.2 * cm, 3.0 * cm]
    header = ["Payee", "Opening", "Credits", "Lines", "Reversals", "Payout", "Carried forward", "Closing"]
    decimals = decimals_of(fmt(0))
    for start in range(0, len(statements) + 1, _LINES_PER_TABLE):
        rows = [[wrap(statement.account, widths[0]), fmt(statement.opening), fmt(statement.credits.total),
                 str(statement.credits.count), fmt(statement.reversals.total), fmt(statement.payout),
                 fmt(statement.carried_forward), fmt(statement.closing)]
                for statement in statements[start:start + _LINES_PER_TABLE]]
        last = start + _LINES_PER_TABLE > len(statements)
        if last:
            rows.append(["Total", fmt(summary.opening), fmt(summary.credits.total), str(summary.credits.count),
                         fmt(summary.reversals.total), fmt(summary.payouts.total), fmt(summary.carried_forward),
                         fmt(summary.closing)])
        yield [pdf.table([header, *rows], widths, amounts=[1, 2, 4, 5, 6, 7], right=[3], total=last,
                         decimals=decimals)]


def _payee_section(pdf: PdfParts, statement: Statement, fmt: Formatter) -> Iterator[list]:
    from reportlab.lib.units import cm
    from reportlab.platypus import PageBreak, Paragraph, Spacer

    by_model = ", ".join(f"{model}: {fmt(tally.total)} ({tally.count})"
                         for model, tally in sorted(statement.credits_by_model.items())) or "none"
    totals = pdf.table([
        ["Opening balance", f"Credits ({statement.credits.count})", f"Reversals ({statement.reversals.count})",
         "Adjustments", "Payout", "Carried forward", "Closing balance"],
        [fmt(statement.opening), fmt(statement.credits.total), fmt(statement.reversals.total),
         fmt(statement.adjustments), fmt(statement.payout), fmt(statement.carried_forward), fmt(statement.closing)],
    ], [WIDTH_CM / 7 * cm] * 7, amounts=range(7))
    header = ["Event", "Time (UTC)", "Kind", "Prompt content", "Share", "Amount"]
    widths = [6.2 * cm, 3.3 * cm, 2.3 * cm, 9.2 * cm, 2.0 * cm, 3.2 * cm]
    in_time = sorted(statement.lines, key=lambda line: (line.occurred_at, line.seq))  # time order, not entry order
    payers: dict[str, Tally] = {}
    for line in statement.lines:
        if line.kind == "reward" and line.counterparty:
            payers.setdefault(line.counterparty, Tally()).add(line.amount)
    by_payer = ", ".join(f"{payer}: {fmt(tally.total)} ({tally.count})" for payer, tally in sorted(payers.items()))
    yield [
        PageBreak(),
        Paragraph(f"Statement for {escape(statement.account)}: period {statement.period} ({statement.currency})",
                  pdf.heading),
        Spacer(1, 0.1 * cm),
        totals,
        Spacer(1, 0.2 * cm),
        Paragraph(f"Credits per model: {escape(by_model)}", pdf.body),
        Paragraph(f"Credits per payer: {escape(by_payer or 'none')}", pdf.body),
        Paragraph(f"Shares rounded to {SHARE_DIGITS} decimals (exact in the CSV and JSON files). Lines marked (late) "
                  "belong to an earlier, already closed period and are counted here.", pdf.small),
        Spacer(1, 0.2 * cm),
    ]
    if not in_time:
        yield [pdf.table([header], widths)]
    decimals = decimals_of(fmt(0))  # `fmt` writes every amount to one number of decimals
    # Small tables, each made as the one before is placed (reportlab splits a long table
    # page by page, which is quadratic, and a made table holds its cells).
    for start in range(0, len(in_time), _LINES_PER_TABLE):
        rows = [[wrap(line.event_id, widths[0]), iso_time(line.occurred_at)[:19].replace("T", " "),
                 line.kind + (" (late)" if line.late else ""), wrap(line.content or line.memo or "", widths[3], most=3),
                 share_text(line.share), fmt(line.amount)] for line in in_time[start:start + _LINES_PER_TABLE]]
        yield [pdf.table([header, *rows], widths, amounts=[5], right=[4], decimals=decimals)]


RENDERERS = {"csv": write_csv, "json": write_json, "pdf": write_pdf}
