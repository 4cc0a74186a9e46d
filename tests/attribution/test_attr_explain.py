"""The explain picture states what a reader needs to rebuild the shares: every coalition
value the split used (the galleries' too, under the gallery), the formula with the event's
numbers, shares on an axis that ends at 1, and the test-model notice. These tests read what
the figure is made of (its texts, tables and axes), not its pixels."""

from __future__ import annotations

import io
import random
from dataclasses import replace

import pytest
from matplotlib.text import Text
from PIL import Image

from fairsplit.explain import (
    TEST_MODEL_NOTICE,
    Panel,
    Split,
    caption,
    draw_explanation,
    formula_lines,
    number,
    tile,
    to_png,
    value_label,
    value_rows,
)
from fairsplit.result import CoalitionValue
from fairsplit.shapley import exact_shapley
from services.demo import sample_event
from services.explain import recorded_split
from services.signing import sign_event

MODEL, DALI, KLIMT = "model:sd-1.5", "artist:dali", "artist:klimt"


def game(players: tuple[str, ...], values: dict[tuple[str, ...], float], everyone: tuple[str, ...] | None = None,
         test_model_values: bool = False) -> Split:
    """A split whose shares are the exact Shapley values of `values` (keyed by coalition)."""
    n = len(players)
    by_mask = {mask: values[tuple(p for i, p in enumerate(players) if mask >> i & 1)] for mask in range(1 << n)}
    phi = exact_shapley(n, by_mask)
    shares = {p: float(s) for p, s in zip(players, phi)}
    for account in everyone or ():
        shares.setdefault(account, 0.0)
    return Split(MODEL, everyone or players, players, [CoalitionValue(k, v) for k, v in values.items()], shares)


def texts(figure) -> list[str]:
    """Every text the figure draws, table cells included."""
    found = [t.get_text() for t in figure.findobj(Text)]
    for axis in figure.axes:
        for table in axis.tables:
            found += [cell.get_text().get_text() for cell in table.get_celld().values()]
    return found


def share_axis(figure):
    return next(axis for axis in figure.axes if axis.get_title(loc="left").startswith("Shapley share"))


TWO = game((MODEL, DALI), {(): 0.0, (MODEL,): 0.62, (DALI,): 0.893, (MODEL, DALI): 1.0})


def test_two_players_the_formula_carries_the_numbers_and_rebuilds_the_shares():
    assert TWO.shares[DALI] == pytest.approx(0.5 * (0.893 + 1 - 0.62))
    lines = formula_lines(TWO)
    assert "φ_dali = ½ (v(dali) + 1 − v(sd-1.5)) = ½ (0.8930 + 1 − 0.6200) = 0.6365" in lines
    assert "φ_sd-1.5 = ½ (v(sd-1.5) + 1 − v(dali)) = ½ (0.6200 + 1 − 0.8930) = 0.3635" in lines
    assert "1 = v(sd-1.5+dali)" in lines[0]


def test_every_recorded_value_is_in_the_table_and_the_gallery_value_under_the_gallery():
    rows = value_rows(TWO)
    assert [(label, value) for label, value, _ in rows] == [
        ("v(∅)", "0.0000"), ("v(sd-1.5)", "0.6200"), ("v(dali)", "0.8930"), ("v(sd-1.5+dali)", "1.0000")]
    sources = {label: source for label, _, source in rows}
    assert sources["v(dali)"] == "cosine of dali's gallery to the image"
    assert sources["v(sd-1.5)"] == "cosine of its render to the image"
    gallery = Panel("dali's gallery", tile([Image.new("RGB", (8, 8), "red")] * 4), (DALI,))
    figure = draw_explanation("why", [gallery], TWO, {DALI: "0.006365 USD"})
    drawn = texts(figure)
    assert caption(TWO, (DALI,)) in drawn
    assert caption(TWO, (DALI,)).startswith("v(dali) = 0.8930\ncosine of dali's gallery")
    for label, value, source in rows:
        assert {label, value, source} <= set(drawn)
    assert all(line in drawn for line in formula_lines(TWO))


def test_the_share_axis_ends_at_1_and_every_bar_label_fits_inside_it():
    split = game((MODEL, DALI), {(): 0.0, (MODEL,): 0.4, (DALI,): 0.3999, (MODEL, DALI): 1.0})
    figure = draw_explanation("why", [], split, {MODEL: "0.012345 USD", DALI: "0.012344 USD"})
    axis = share_axis(figure)
    assert axis.get_xlim() == (0.0, 1.0)
    renderer = figure.canvas.get_renderer()
    box = axis.get_window_extent(renderer)
    labels = [t for t in axis.texts if "%" in t.get_text()]
    assert len(labels) == 2
    for label in labels:
        extent = label.get_window_extent(renderer)
        assert box.x0 <= extent.x0 and extent.x1 <= box.x1, label.get_text()


def test_more_players_are_named_as_shapley_values_and_an_unrecognised_artist_earns_0():
    values = {(): 0.0, (MODEL,): 0.5, (DALI,): 0.7, (KLIMT,): 0.6, (MODEL, DALI): 0.8, (MODEL, KLIMT): 0.75,
              (DALI, KLIMT): 0.72, (MODEL, DALI, KLIMT): 1.0}
    split = game((MODEL, DALI, KLIMT), values, everyone=(MODEL, DALI, KLIMT, "artist:monet"))
    lines = formula_lines(split)
    assert lines[0].startswith("3 players (sd-1.5, dali, klimt): the shares are Shapley values "
                               "over the 8 coalition values")
    figure = draw_explanation("why", [], split, {})
    drawn = texts(figure)
    assert {value_label(k) for k in values} <= set(drawn)
    assert {number(v) for v in values.values()} <= set(drawn)
    assert "cosine of their galleries' mean to the image" in drawn
    assert "0.00%  not recognised" in drawn
    assert caption(split, (MODEL, "artist:monet")) == "not scored:\nmonet not recognised"


def test_a_model_alone_takes_everything_and_a_clamp_is_said():
    alone = Split(MODEL, (MODEL, DALI), (MODEL,), [CoalitionValue((), 0.0), CoalitionValue((MODEL,), 1.0)],
                  {MODEL: 1.0, DALI: 0.0})
    assert formula_lines(alone) == ["Only the model plays (no artist was recognised): it earns the whole reward, "
                                    "φ_sd-1.5 = 1."]
    assert caption(alone, (MODEL, DALI)) == "the image every value\nis measured against"
    clamped = replace(TWO, clamped=True)
    assert "clamped to 0" in formula_lines(clamped)[-1]


def test_the_test_model_notice_is_drawn_only_for_test_models():
    assert TEST_MODEL_NOTICE.upper() in texts(draw_explanation("why", [], TWO, {}, test_model=True))
    assert not any("TEST MODEL" in t.upper() for t in texts(draw_explanation("why", [], TWO, {})))
    png = to_png(draw_explanation("why", [], TWO, {}, test_model=True))
    with Image.open(io.BytesIO(png)) as picture:
        assert picture.format == "PNG"


@pytest.mark.parametrize("seed", [8, 5])  # one recognised artist; two recognised and one filtered
def test_a_worker_record_on_the_tiny_profile_is_drawn_with_every_value(worker_parts, seed):
    """The real path: an event attributed and signed by the worker, its record read back."""
    gate, platform, attributor = worker_parts
    record = attributor([gate.admit(sign_event(sample_event(random.Random(seed), "acme"), platform))])[0]

    split = recorded_split(record)
    artists_only = [v for v in record["values"] if v["players"] and split.model not in v["players"]]
    assert artists_only and len(split.values) == len(record["values"]) == 2 ** len(split.game)
    figure = draw_explanation("why", [], split, {}, test_model=record["method"]["test_model"])
    drawn = texts(figure)
    assert TEST_MODEL_NOTICE.upper() in drawn  # tiny is a test model
    for value in record["values"]:
        assert value_label(value["players"]) in drawn and number(value["value"]) in drawn
    if len(split.game) == 2:
        artist = split.game[1]
        alone = {tuple(v["players"]): v["value"] for v in record["values"]}
        rebuilt = 0.5 * (alone[(artist,)] + 1 - alone[(split.model,)])
        assert rebuilt == pytest.approx(record["shares"][artist], abs=1e-9)
        assert (f"½ ({number(alone[(artist,)])} + 1 − {number(alone[(split.model,)])}) "
                f"= {number(record['shares'][artist])}") in formula_lines(split)[1]
    assert share_axis(figure).get_xlim() == (0.0, 1.0)


def test_the_note_says_which_test_an_unrecognised_artist_failed():
    from services.explain import not_recognised_note

    low = not_recognised_note({"account": "artist:aster", "recognised": False, "uplift": 0.01}, 0.1)
    assert "style uplift +0.01000 < τ 0.1" in low
    work = not_recognised_note({"account": "artist:aster", "recognised": False, "uplift": 0.5,
                                "work_margin": -0.31}, 0.1)
    assert "work margin -0.31000" in work and "< τ" not in work
