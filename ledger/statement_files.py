"""Statement files: CSV, JSON and PDF renderings of `ledger.statements` results.

Every renderer takes the statements, the finance summary and `fmt` (micro-units ->
decimal string), writes into `out_dir` and returns the paths it wrote. Amounts are
decimal strings everywhere; the charts plot integer micro-units and label their axes
with the same decimal strings.

- CSV: `statements-<P>-<CUR>.csv` (one row per payee, then a TOTAL row that equals the
  finance summary) and `lines-<P>-<CUR>.csv` (one row per transfer line).
- JSON: `statements-<P>-<CUR>.json` = {schema, summary, statements}.
- PDF: `statements-<P>-<CUR>.pdf`: the finance summary with two charts (earnings per
  day, top payees), then one section per payee with its totals and lines.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

from ledger.statements import STATEMENT_SCHEMA, FinanceSummary, Statement, iso_time, statement_dict, summary_dict

Formatter = Callable[[int], str]
_LINES_PER_TABLE = 30
FORMATS = ("csv", "json", "pdf")

SUMMARY_COLUMNS = (
    "account", "currency", "period", "opening", "credits_count", "credits_total", "reversals_count",
    "reversals_total", "adjustments", "balance_before_payout", "payout", "carried_forward", "closing",
)
LINE_COLUMNS = ("account", "seq", "event_id", "kind", "occurred_at", "late", "model_id", "content", "share",
                "amount", "memo")


def stem(summary: FinanceSummary) -> str:
    return f"{summary.period}-{summary.currency}"


def _summary_row(statement: Statement, fmt: Formatter) -> list[str | int]:
    return [
        statement.account, statement.currency, statement.period, fmt(statement.opening),
        statement.credits.count, fmt(statement.credits.total), statement.reversals.count,
        fmt(statement.reversals.total), fmt(statement.adjustments), fmt(statement.before_payout),
        fmt(statement.payout), fmt(statement.carried_forward), fmt(statement.closing),
    ]


def write_csv(out_dir: Path, statements: list[Statement], summary: FinanceSummary, fmt: Formatter) -> list[Path]:
    totals = out_dir / f"statements-{stem(summary)}.csv"
    with totals.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SUMMARY_COLUMNS)
        writer.writerows(_summary_row(statement, fmt) for statement in statements)
        before = summary.opening + summary.credits.total - summary.reversals.total + summary.adjustments
        writer.writerow([
            "TOTAL", summary.currency, summary.period, fmt(summary.opening), summary.credits.count,
            fmt(summary.credits.total), summary.reversals.count, fmt(summary.reversals.total),
            fmt(summary.adjustments), fmt(before), fmt(summary.payouts.total),
            fmt(summary.carried_forward), fmt(summary.closing),
        ])
    lines = out_dir / f"lines-{stem(summary)}.csv"
    with lines.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(LINE_COLUMNS)
        for statement in statements:
            for line in statement.lines:
                writer.writerow([
                    statement.account, line.seq, line.event_id, line.kind, iso_time(line.occurred_at),
                    "yes" if line.late else "no", line.model_id or "", line.content or "", line.share or "",
                    fmt(line.amount), line.memo or "",
                ])
    return [totals, lines]


def write_json(out_dir: Path, statements: list[Statement], summary: FinanceSummary, fmt: Formatter) -> list[Path]:
    path = out_dir / f"statements-{stem(summary)}.json"
    document = {
        "schema": STATEMENT_SCHEMA,
        "summary": summary_dict(summary, fmt),
        "statements": [statement_dict(statement, fmt) for statement in statements],
    }
    path.write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return [path]


def chart_png(summary: FinanceSummary, fmt: Formatter) -> bytes:
    """Earnings per day and top payees, side by side, as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.ticker import FuncFormatter

    label = FuncFormatter(lambda value, _pos: fmt(int(round(value))))
    figure, (per_day, top) = pyplot.subplots(1, 2, figsize=(10, 3.6), dpi=110)
    days = list(summary.earnings_per_day)
    per_day.bar(range(len(days)), [summary.earnings_per_day[day] for day in days], color="#3b7dd8")
    per_day.set_xticks(range(len(days)), [day[5:] for day in days], rotation=60, fontsize=7)
    per_day.yaxis.set_major_formatter(label)
    per_day.set_title(f"Earnings per day ({summary.currency})", fontsize=10)
    names = [account for account, _ in reversed(summary.top_payees)]
    top.barh(range(len(names)), [amount for _, amount in reversed(summary.top_payees)], color="#e08a2c")
    top.set_yticks(range(len(names)), names, fontsize=7)
    top.xaxis.set_major_formatter(label)
    top.tick_params(axis="x", labelsize=7, labelrotation=30)
    top.set_title(f"Top payees ({summary.currency})", fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    pyplot.close(figure)
    return buffer.getvalue()


def write_pdf(out_dir: Path, statements: list[Statement], summary: FinanceSummary, fmt: Formatter) -> list[Path]:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import Image, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    path = out_dir / f"statements-{stem(summary)}.pdf"
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7, leading=8.5)
    grid = TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ])

    def table(rows, widths=None):
        built = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
        built.setStyle(grid)
        return built

    cur = summary.currency
    story = [
        Paragraph(f"fairsplit statements: period {summary.period} ({cur})", styles["Title"]),
        Paragraph(f"Finance summary. Period status: {summary.status}. "
                  f"Reconciles with the ledger: {'yes' if summary.reconciles else 'NO'}.", styles["BodyText"]),
        Spacer(1, 0.3 * cm),
        table([
            ["Payees", "Opening", "Credits", "Reversals", "Adjustments", "Payouts", "Paid to payouts:" + cur,
             "Carried forward", "Closing", "Late lines"],
            [summary.payees, fmt(summary.opening), f"{fmt(summary.credits.total)} ({summary.credits.count})",
             f"{fmt(summary.reversals.total)} ({summary.reversals.count})", fmt(summary.adjustments),
             f"{fmt(summary.payouts.total)} ({summary.payouts.count})",
             "" if summary.ledger_payouts is None else fmt(summary.ledger_payouts),
             fmt(summary.carried_forward), fmt(summary.closing), summary.late_lines],
        ]),
        Spacer(1, 0.4 * cm),
        Image(io.BytesIO(chart_png(summary, fmt)), width=25 * cm, height=9 * cm),
    ]
    for statement in statements:
        story += [PageBreak(), *_payee_section(statement, fmt, styles, small, table)]
    SimpleDocTemplate(str(path), pagesize=landscape(A4), title=f"fairsplit statements {summary.period} {cur}",
                      leftMargin=1.5 * cm, rightMargin=1.5 * cm, topMargin=1.5 * cm,
                      bottomMargin=1.5 * cm).build(story)
    return [path]


def _payee_section(statement: Statement, fmt: Formatter, styles, small, table) -> list:
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, Spacer

    def cell(text: str | None, width: int) -> str:
        text = " ".join((text or "").split())
        return text if len(text) <= width else text[: width - 1] + "…"

    by_model = ", ".join(f"{model}: {fmt(tally.total)} ({tally.count})"
                         for model, tally in sorted(statement.credits_by_model.items())) or "none"
    totals = [
        ["Opening balance", "Credits", "Reversals", "Adjustments", "Payout", "Carried forward", "Closing balance"],
        [fmt(statement.opening), f"{fmt(statement.credits.total)} ({statement.credits.count})",
         f"{fmt(statement.reversals.total)} ({statement.reversals.count})", fmt(statement.adjustments),
         fmt(statement.payout), fmt(statement.carried_forward), fmt(statement.closing)],
    ]
    header = ["Event", "Time (UTC)", "Kind", "Prompt content", "Share", "Amount"]
    lines = [
        [cell(line.event_id, 36), iso_time(line.occurred_at)[:19] + "Z", line.kind + (" (late)" if line.late else ""),
         cell(line.content or line.memo, 64), line.share or "", fmt(line.amount)]
        for line in statement.lines
    ]
    widths = [5.5 * cm, 3.4 * cm, 2.6 * cm, 9 * cm, 2 * cm, 3 * cm]
    # Small tables: reportlab splits a long table page by page, which is quadratic.
    chunks = [table([header, *lines[i:i + _LINES_PER_TABLE]], widths=widths)
              for i in range(0, len(lines), _LINES_PER_TABLE)] or [table([header], widths=widths)]
    return [
        Paragraph(f"Statement for {escape(statement.account)}: period {statement.period} ({statement.currency})",
                  styles["Heading2"]),
        table(totals),
        Spacer(1, 0.2 * cm),
        Paragraph(f"Credits per model: {escape(by_model)}", styles["BodyText"]),
        Paragraph("Lines marked (late) belong to an earlier, already closed period and are counted here.",
                  small),
        Spacer(1, 0.2 * cm),
        *chunks,
    ]


RENDERERS = {"csv": write_csv, "json": write_json, "pdf": write_pdf}
