"""The PDF statement's layout pieces: styles, tables whose amounts line up on their decimal
points, cell text wrapped to its column, and amounts written to one number of decimals.

Pure layout (reportlab imported where used): `ledger.statements.files` decides what the
PDF says, this module how it sits on the page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

Formatter = Callable[[int], str]


class PdfParts:
    """The reportlab pieces the PDF is built from: styles and right-aligned tables."""

    def __init__(self) -> None:
        from reportlab.lib.styles import getSampleStyleSheet

        styles = getSampleStyleSheet()
        self.title = styles["Heading1"].clone("statement-title", fontSize=17, leading=21, spaceAfter=2)
        self.heading = styles["Heading2"].clone("statement-heading", fontSize=13, leading=16, spaceBefore=0)
        self.body = styles["BodyText"].clone("statement-body", fontSize=9, leading=11.5)
        self.small = styles["BodyText"].clone("statement-small", fontSize=7.5, leading=9)
        self.notice = styles["BodyText"].clone("statement-notice", fontSize=9, leading=12, textColor="#ffffff")

    def table(self, rows: list[list], widths: list[float], amounts: Sequence[int] = (), right: Sequence[int] = (),
              total: bool = False, decimals: int | None = None):
        """A grid with a bold header row on blue; `amounts` columns align on their decimal
        points (with room for `decimals` digits after it, else for the column's most), `right`
        columns to the right; a `total` last row is bold under a rule."""
        from reportlab.lib import colors
        from reportlab.platypus import Table, TableStyle

        commands = [
            ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa5b1")),
            ("FONTSIZE", (0, 0), (-1, -1), 8),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 2.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
            ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ]
        if total:
            commands += [("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
                         ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black)]
        for column in right:
            commands.append(("ALIGN", (column, 0), (column, -1), "RIGHT"))
        for column in amounts:
            commands.append(("ALIGN", (column, 0), (column, -1), "RIGHT"))
            texts = [str(row[column]) for row in rows[1:]]
            commands += [("RIGHTPADDING", (column, 1 + r), (column, 1 + r), padding)
                         for r, padding in enumerate(_decimal_paddings(texts, 8, decimals))]
        built = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
        built.setStyle(TableStyle(commands))
        return built


def wrap(text: str, width: float, size: float = 8, most: int | None = None) -> str:
    """Plain cell text in lines that fit a column `width` points wide (less its padding):
    broken at spaces, a word longer than a line cut; past `most` lines the last ends in "…".
    Plain text, not a Paragraph: no markup to escape, and it sits on the row's baseline."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    room = width - 12  # the cell's left and right padding

    def fits(piece: str) -> bool:
        return stringWidth(piece, "Helvetica", size) <= room

    rows: list[str] = []
    row = ""
    for word in text.split():
        joined = f"{row} {word}" if row else word
        if fits(joined):
            row = joined
            continue
        if row:
            rows.append(row)
        row = word
        while not fits(row):
            cut = max([1] + [i for i in range(1, len(row)) if fits(row[:i])])
            rows.append(row[:cut])
            row = row[cut:]
    rows.append(row)
    if most is not None and len(rows) > most:
        rows = rows[:most]
        while rows[-1] and not fits(rows[-1] + "…"):
            rows[-1] = rows[-1][:-1]
        rows[-1] += "…"
    return "\n".join(rows)


def decimals_of(text: str) -> int:
    """Digits after the decimal point; -1 for a number without one."""
    return len(text.partition(".")[2]) if "." in text else -1


def _decimal_paddings(texts: list[str], font_size: float, most: int | None = None) -> list[float]:
    """Right paddings that line a column's amounts up on their decimal points while each stays
    one string (a reader can copy it, pypdf extracts it whole): an amount with fewer decimals
    than `most` (default: the column's most) is padded by the missing digits (Helvetica
    digits are 0.556 em wide, the point 0.278 em)."""
    decimals = [decimals_of(text) for text in texts]
    most = max(decimals, default=0) if most is None else most
    digit, point = 0.556 * font_size, 0.278 * font_size
    return [6 + digit * (most - d) if d >= 0 else 6 + digit * max(most, 0) + (point if most >= 0 else 0)
            for d in decimals]


def fixed_decimals(fmt: Formatter, amounts: Sequence[int]) -> Formatter:
    """`fmt` with every amount written to the same number of decimals (the most any amount
    needs), so a reader never compares "0.10" with "0.004": padding zeros, never rounding."""
    most = max((decimals_of(fmt(amount)) for amount in amounts), default=-1)

    def fixed(micros: int) -> str:
        text = fmt(micros)
        places = decimals_of(text)
        if most <= 0 or places == most:
            return text
        return text + ("0" * (most - places) if places >= 0 else "." + "0" * most)
    return fixed


class Flowing(list):
    """A story reportlab lays out while it is written: `groups` (lists of flowables that
    stay together, e.g. a heading and its totals, or one table of lines) are drawn from a
    generator one at a time, as the last is placed, so the layout never holds the document.

    `BaseDocTemplate.build` reads its story with `while len(story)`, `story[0]` and
    `del story[0]` (and puts split remainders back at the front); the next group is fetched
    when `len` finds the story empty."""

    def __init__(self, groups: Iterable[list]) -> None:
        super().__init__()
        self._groups = iter(groups)

    def __len__(self) -> int:
        while not super().__len__():
            group = next(self._groups, None)
            if group is None:
                break
            self.extend(group)
        return super().__len__()


def packed_canvas():
    """A reportlab Canvas class that compresses each page's content as the page ends.

    reportlab keeps every page until it writes the file, and by default keeps each as its
    drawing operators, compressed only then; compressed at once, a page held costs what
    it will cost in the file (about a sixth). A stream whose dictionary already names its
    Filter is written as it is (`PDFStream.format`)."""
    import zlib

    from reportlab.pdfbase.pdfdoc import PDFArray, PDFDictionary, PDFName, PDFStream
    from reportlab.pdfgen.canvas import Canvas

    class PackedCanvas(Canvas):
        def showPage(self) -> None:
            super().showPage()
            pages = getattr(getattr(getattr(self, "_doc", None), "Pages", None), "pages", None)
            page = pages[-1] if pages else None
            text = getattr(page, "stream", None)
            if not isinstance(text, str) or getattr(page, "Contents", None):
                return  # not the reportlab this was written for: leave the page as it is
            packed = PDFStream(PDFDictionary({"Filter": PDFArray([PDFName("FlateDecode")])}),
                               zlib.compress(text.encode("utf8")))
            packed.__Comment__ = "page stream"
            page.Contents, page.stream = packed, None
    return PackedCanvas
