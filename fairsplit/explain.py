"""The picture behind a split: the generated image, every coalition render with its value,
and the shares as bars — what a person would rather look at than read.

Pure drawing: the caller passes the images (regenerated from the event) and the numbers
(the recorded attribution, i.e. what was actually paid). matplotlib's Agg backend, no
screen needed.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from PIL import Image


@dataclass(frozen=True)
class Panel:
    title: str
    image: Image.Image
    value: float | None = None


def draw_explanation(
    title: str,
    panels: Sequence[Panel],
    shares: Mapping[str, float],
    amounts: Mapping[str, str],
    notes: Sequence[str] = (),
) -> bytes:
    """A PNG: one row of image panels (the first is the generated image), then a bar chart
    of the shares, each bar labelled with the amount paid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = max(1, min(len(panels), 4))
    rows = -(-len(panels) // columns)
    figure = plt.figure(figsize=(3.2 * columns, 3.3 * rows + 3.2 + 0.3 * len(notes)), dpi=110)
    grid = figure.add_gridspec(rows + 1, columns, height_ratios=[3.0] * rows + [2.6], hspace=0.45)
    for index, panel in enumerate(panels):
        axis = figure.add_subplot(grid[index // columns, index % columns])
        axis.imshow(panel.image.convert("RGB"), interpolation="nearest")
        label = panel.title if panel.value is None else f"{panel.title}\nv = {panel.value:.4f}"
        axis.set_title(label, fontsize=9)
        axis.axis("off")
    bars = figure.add_subplot(grid[rows, :])
    accounts = list(shares)
    values = [shares[a] for a in accounts]
    drawn = bars.barh(accounts, values, color=["#4c72b0" if a.startswith("model:") else "#dd8452" for a in accounts])
    for bar, account in zip(drawn, accounts):
        bars.text(bar.get_width() + 0.01, bar.get_y() + bar.get_height() / 2,
                  f"{shares[account]:.1%}  {amounts.get(account, '')}", va="center", fontsize=9)
    bars.set_xlim(0, 1.25)
    bars.invert_yaxis()
    bars.set_xlabel("Shapley share of the reward")
    figure.suptitle(title, fontsize=11)
    if notes:
        figure.text(0.01, 0.005, "\n".join(notes), fontsize=8, va="bottom", color="#555555")
    figure.subplots_adjust(left=0.12, right=0.97, top=0.9, bottom=0.1 + 0.025 * len(notes))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
