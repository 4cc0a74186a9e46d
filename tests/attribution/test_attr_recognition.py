"""Recognizability from controlled embeddings, and its effect on the split."""

from __future__ import annotations

import numpy as np

from fairsplit.recognition import recognise, style_uplift
from fairsplit.shapley import ShapleyPlan, to_shares
from fairsplit.values import coalition_values, unit_mean

rng = np.random.default_rng(0)
DIM = 32


def unit(v):
    return v / np.linalg.norm(v)


content, style_a, style_b = (unit(rng.normal(size=DIM)) for _ in range(3))


def test_artist_without_uplift_is_filtered_and_earns_nothing():
    # the image is content + artist A's style; artist B is named but leaves no trace
    image = unit(content + style_a)
    without_a = unit(content)
    without_b = image
    gallery_a, gallery_b = unit(style_a + 0.1 * content), unit(style_b)
    ra = recognise("a", image, without_a, gallery_a)
    rb = recognise("b", image, without_b, gallery_b)
    assert ra.recognised and ra.uplift > 0.2
    assert not rb.recognised and rb.uplift == 0.0
    # the game is played by the model and A only (bits: 0 = model, 1 = A, 2 = B)
    kept = [0, 1]
    plan = ShapleyPlan(len(kept))
    originals = {m: sum(1 << p for i, p in enumerate(kept) if m >> i & 1) for m in plan.coalitions}
    values = coalition_values(
        list(originals.values()), 0b011, image, {0b001: unit(content), 0b011: image}, [gallery_a, gallery_b]
    )
    shares = to_shares(plan.estimate({m: values[o] for m, o in originals.items()}).values)
    split = dict(zip(["model", "a", "b"], [*shares.values, 0.0]))
    assert split["b"] == 0.0 and split["a"] > 0
    assert abs(sum(split.values()) - 1) < 1e-12


def test_artist_imitated_by_default_gets_no_uplift():
    # the base model already renders the content in B's style: naming B changes nothing
    default_look = unit(content + style_b)
    image, without_b = default_look, default_look
    assert style_uplift(image, without_b, unit(style_b)) == 0.0
    assert not recognise("b", image, without_b, unit(style_b)).recognised


def test_zero_shot_rank_test():
    image = unit(content + style_a)
    registry = {"a": unit(style_a), "b": unit(style_b), "c": unit(content + style_a)}
    r = recognise("a", image, unit(content), registry["a"], registry=registry, max_rank=1)
    assert r.rank == 2 and not r.recognised
    assert recognise("a", image, unit(content), registry["a"], registry=registry, max_rank=2).recognised


def test_artist_only_coalitions_use_the_mean_of_galleries():
    ga, gb = unit(style_a), unit(style_b)
    image = unit(style_a + style_b)
    values = coalition_values([0b110], 0b111, image, {}, [ga, gb])
    assert abs(values[0b110] - max(0.0, float(image @ unit_mean([ga, gb])))) < 1e-9
