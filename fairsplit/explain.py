"""The picture behind a split: the generated image, every coalition with its value, how the
values make the shares, and the shares as bars — what a person would rather look at than read.

A reader must be able to rebuild the shares from the picture alone, so it states every
coalition value the split used (the renders' and the galleries' alike, in a table and
under the images they come from), the formula that turns them into shares, and the
shares on an axis from 0 to 1.

Pure drawing: the caller passes the images (regenerated from the event) and the numbers
(the recorded attribution, i.e. what was actually paid). `draw_explanation` returns the
matplotlib figure (what tests inspect), `to_png` renders it: Agg canvas, no screen, no pyplot.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PIL import Image

from fairsplit.result import CoalitionValue

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TEST_MODEL_NOTICE = "test model: shares mean nothing"
DIGITS = 4  # values and shares as the picture prints them; the ledger keeps them exact
_PANEL_COLUMNS = 4


@dataclass(frozen=True)
class Panel:
    """One image of the picture; `coalition` (accounts) names the value drawn under it."""

    title: str
    image: Image.Image
    coalition: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Split:
    """The recorded numbers of one split: what the picture states."""

    model: str  # the model's account
    players: tuple[str, ...]  # every player's account, the model first
    game: tuple[str, ...]  # the recognised ones: the players of the Shapley game
    values: Sequence[CoalitionValue]  # every coalition value the split used
    shares: Mapping[str, float]  # every player's share, the unrecognised ones at 0
    clamped: bool = False
    estimator: str = "exact"
    approximate: bool = False  # text mode: model coalitions valued from prompts, not renders

    def value(self, members: Sequence[str]) -> float | None:
        wanted = frozenset(members)
        return next((v.value for v in self.values if frozenset(v.members) == wanted), None)


def name(account: str) -> str:
    """A player as the picture names it: its id ("klimt", "tiny-sd")."""
    return account.partition(":")[2] or account


def value_label(members: Sequence[str]) -> str:
    """`v(tiny-sd+klimt)`; `v(∅)` for the empty coalition."""
    return f"v({'+'.join(name(m) for m in members) or '∅'})"


def number(value: float) -> str:
    return f"{value:.{DIGITS}f}"


def value_source(split: Split, members: Sequence[str]) -> str:
    """Where a coalition's value comes from, in words."""
    artists = [name(m) for m in members if m != split.model]
    if not members:
        return "nobody: 0 by definition"
    if frozenset(members) == frozenset(split.game):
        return "every recognised player: 1 by definition"
    if split.model in members:
        if split.approximate:
            return "its prompt's text embedding, rescaled (approximation)"
        return "cosine of its render to the image"
    if len(artists) == 1:
        return f"cosine of {artists[0]}'s gallery to the image"
    return "cosine of their galleries' mean to the image"


def value_rows(split: Split) -> list[tuple[str, str, str]]:
    """(coalition, value, source) for every recorded value: smallest coalitions first, the
    model's before the artists' of the same size."""
    order = {account: i for i, account in enumerate(split.game)}

    def key(value: CoalitionValue):
        return len(value.members), split.model not in value.members, sorted(order.get(m, 99) for m in value.members)

    return [(value_label(v.members), number(v.value), value_source(split, v.members))
            for v in sorted(split.values, key=key)]


def formula_lines(split: Split) -> list[str]:
    """How the values make the shares, with this split's numbers filled in."""
    players = len(split.game)
    if players == 1:
        return [f"Only the model plays (no artist was recognised): it earns the whole reward, "
                f"φ_{name(split.model)} = 1."]
    if players == 2:
        model, artist = split.model, next(p for p in split.game if p != split.model)
        whole = value_label(split.game)
        lines = [f"Two players: each gets half of what it is worth alone plus half of what it adds to the other "
                 f"(1 = {whole}, the whole image; values rounded to {DIGITS} decimals):"]
        for me, other in ((artist, model), (model, artist)):
            mine, theirs = split.value([me]), split.value([other])
            filled = "?" if mine is None or theirs is None else f"½ ({number(mine)} + 1 − {number(theirs)})"
            lines.append(f"φ_{name(me)} = ½ ({value_label([me])} + 1 − {value_label([other])}) = {filled} "
                         f"= {number(split.shares[me])}")
    else:
        how = ("exact, over all of them" if split.estimator == "exact"
               else f"estimated by the {split.estimator} sampler from these")
        names = ", ".join(name(p) for p in split.game)
        lines = [f"{players} players ({names}): the shares are Shapley values over the {len(split.values)} "
                 f"coalition values listed ({how}):",
                 "each player's gain v(S + player) − v(S), averaged over every order in which the players could join."]
    if split.clamped:
        lines.append("A negative Shapley value was clamped to 0 and the other shares renormalised to sum to 1.")
    return lines


def caption(split: Split, coalition: tuple[str, ...] | None) -> str:
    """The value drawn under an image, and where it comes from."""
    if coalition is None:
        return ""
    value = split.value(coalition)
    if value is None and frozenset(coalition) == frozenset(split.players):
        return "the image every value\nis measured against"
    if value is None:
        missing = ", ".join(name(m) for m in coalition if m not in split.game)
        return f"not scored:\n{missing} not recognised"
    return f"{value_label(coalition)} = {number(value)}\n{value_source(split, coalition)}"


def draw_explanation(
    title: str,
    panels: Sequence[Panel],
    split: Split,
    amounts: Mapping[str, str],
    notes: Sequence[str] = (),
    test_model: bool = False,
) -> Figure:
    """The picture as a matplotlib figure, top to bottom: the title, a notice (test models),
    the images with the value each stands for, the table of every coalition value beside the
    share bars, the formula, the notes. Laid out in inches, so nothing overlaps."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = value_rows(split)
    formula = formula_lines(split)
    columns = max(1, min(len(panels), _PANEL_COLUMNS))
    panel_rows = -(-len(panels) // columns)
    width = max(3.2 * columns + 0.6, 12.5)
    table = 0.26 * (len(rows) + 1)
    lower = max(2.2, table)
    text = 0.25 * (len(formula) + len(notes))
    height = 0.6 + (0.65 if test_model else 0) + 3.6 * panel_rows + 0.4 + lower + 0.45 + text + 0.2
    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)  # no pyplot, no screen: the figure draws itself to PNG
    place = _Places(figure, width, height)
    figure.text(0.5, 1 - 0.2 / height, title, ha="center", va="top", fontsize=14)
    top = 0.6
    if test_model:
        _notice(place(0.3, top, width - 0.6, 0.5))
        top += 0.65
    cell = (width - 0.6) / columns
    side = min(2.5, cell - 0.3)
    for index, panel in enumerate(panels):
        row, column = divmod(index, columns)
        axis = place(0.3 + column * cell + (cell - side) / 2, top + row * 3.6 + 0.35, side, side)
        _image(axis, panel, caption(split, panel.coalition))
    top += 3.6 * panel_rows + 0.4
    table_width = 0.55 * (width - 0.6)
    _values_table(place(0.3, top, table_width, table), rows)
    bars_left = 0.3 + table_width + 1.7
    _share_bars(place(bars_left, top, width - 0.3 - bars_left, lower), split, amounts)
    _text(place(0.3, top + lower + 0.45, width - 0.6, text), formula, notes)
    return figure


class _Places:
    """Axes placed in inches from the figure's top-left corner."""

    def __init__(self, figure, width: float, height: float) -> None:
        self.figure, self.width, self.height = figure, width, height

    def __call__(self, left: float, top: float, width: float, height: float):
        return self.figure.add_axes((left / self.width, 1 - (top + height) / self.height,
                                     width / self.width, height / self.height))


def to_png(figure: Figure) -> bytes:
    """A figure of `draw_explanation` as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def tile(images: Sequence[Image.Image], columns: int = 2) -> Image.Image:
    """Several works as one picture (a 2 × 2 grid for four), so that an artist's gallery is one
    panel with its value under it; white where a cell has no work."""
    size = max(max(image.size) for image in images)
    rows = -(-len(images) // columns)
    gap = max(1, size // 32)
    sheet = Image.new("RGB", (columns * size + (columns - 1) * gap, rows * size + (rows - 1) * gap), "white")
    for index, image in enumerate(images):
        at = ((index % columns) * (size + gap), (index // columns) * (size + gap))
        sheet.paste(image.convert("RGB").resize((size, size)), at)
    return sheet


def _notice(axis) -> None:
    axis.axis("off")
    axis.text(0.5, 0.5, TEST_MODEL_NOTICE.upper(), ha="center", va="center", fontsize=13, fontweight="bold",
              color="white", transform=axis.transAxes,
              bbox={"boxstyle": "round,pad=0.4", "facecolor": "#c0392b", "edgecolor": "none"})


def _image(axis, panel: Panel, text: str) -> None:
    axis.imshow(panel.image.convert("RGB"), interpolation="nearest")
    axis.set_title(panel.title, fontsize=9)
    axis.set_xticks([])
    axis.set_yticks([])
    for spine in axis.spines.values():
        spine.set_visible(False)
    axis.set_xlabel(text, fontsize=9, linespacing=1.3)


def _values_table(axis, rows: list[tuple[str, str, str]]) -> None:
    axis.axis("off")
    axis.set_title("Every coalition value the split used", fontsize=10, loc="left")
    table = axis.table(cellText=[list(row) for row in rows], colLabels=["coalition", "value", "where it comes from"],
                       colWidths=[0.38, 0.11, 0.51], cellLoc="left", colLoc="left", bbox=[0, 0, 1, 1])
    table.auto_set_font_size(False)
    table.set_fontsize(8.5)
    for (row, column), cell in table.get_celld().items():
        cell.set_edgecolor("#bbbbbb")
        cell.set_linewidth(0.5)
        if row == 0:
            cell.set_facecolor("#e8eef7")
        if column == 1:
            cell.get_text().set_horizontalalignment("right")
            cell.PAD = 0.05


def _share_bars(axis, split: Split, amounts: Mapping[str, str]) -> None:
    """Horizontal bars on [0, 1]; each label sits inside a long bar and beside a short one."""
    shares = split.shares
    accounts = list(shares)
    drawn = axis.barh(accounts, [shares[a] for a in accounts],
                      color=["#4c72b0" if a.startswith("model:") else "#dd8452" for a in accounts])
    for bar, account in zip(drawn, accounts):
        share = shares[account]
        label = f"{share:.2%}  {amounts.get(account, '') if account in split.game else 'not recognised'}".strip()
        inside = share >= 0.5
        axis.text(share - 0.01 if inside else share + 0.01, bar.get_y() + bar.get_height() / 2, label,
                  va="center", ha="right" if inside else "left", fontsize=9, color="white" if inside else "black")
    axis.set_xlim(0, 1)
    axis.invert_yaxis()
    axis.tick_params(axis="y", labelsize=9)
    axis.set_title("Shapley share of the reward (sums to 1)", fontsize=10, loc="left")


def _text(axis, formula: Sequence[str], notes: Sequence[str]) -> None:
    axis.axis("off")
    y = 1.0
    step = 1.0 / max(1, len(formula) + len(notes))  # the axis is 0.25 in per line high
    for line in formula:
        axis.text(0.0, y, line, fontsize=9.5, va="top", transform=axis.transAxes)
        y -= step
    for line in notes:
        axis.text(0.0, y, line, fontsize=8.5, va="top", color="#555555", transform=axis.transAxes)
        y -= step
