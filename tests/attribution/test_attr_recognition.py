"""Recognizability from controlled embeddings, and its effect on the split."""

from __future__ import annotations

import numpy as np
import pytest

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


def test_the_soft_gate_is_zero_below_tau_rises_linearly_and_is_the_hard_test_at_width_zero():
    from fairsplit.recognition import gate

    assert gate(0.09, 0.1, 0.1) == 0.0 and gate(0.1, 0.1, 0.1) == 0.0
    assert gate(0.125, 0.1, 0.1) == pytest.approx(0.25) and gate(0.15, 0.1, 0.1) == pytest.approx(0.5)
    assert gate(0.2, 0.1, 0.1) == 1.0 and gate(0.7, 0.1, 0.1) == 1.0
    assert gate(0.1, 0.1, 0.0) == 1.0 and gate(0.0999, 0.1, 0.0) == 0.0  # width 0: in or out


def test_gated_shares_give_what_the_gate_withholds_to_the_model_and_sum_to_one():
    from fairsplit.recognition import gated_shares

    shares = gated_shares([0.2, 0.5, 0.3], [0.5, 1.0])
    assert shares == pytest.approx((0.45, 0.25, 0.3), abs=1e-15)
    assert sum(shares) == pytest.approx(1.0, abs=1e-15)
    assert gated_shares([1.0], []) == (1.0,)  # the model alone
    assert gated_shares([0.2, 0.5, 0.3], [1.0, 1.0]) == pytest.approx((0.2, 0.5, 0.3), abs=1e-15)


def test_a_weaker_style_in_a_blend_is_recognised_at_the_other_end_of_the_order():
    # A's style dominates the blend: taking B out barely changes the image's resemblance to
    # B's gallery (the last-joiner gain is under τ), but B alone moves the model's image a
    # long way towards it: at both ends B's uplift is its Shapley value in the resemblance game
    nobody, alone_a, alone_b = unit(content), unit(content + style_a), unit(content + style_b)
    image = unit(content + style_a + 0.2 * style_b)
    gallery_b = unit(style_b)
    last = style_uplift(image, alone_a, gallery_b)
    first = style_uplift(alone_b, nobody, gallery_b)
    tau = 0.2
    assert last < tau < first
    both = recognise("b", image, alone_a, gallery_b, tau, alone=alone_b, nobody=nobody)
    assert both.recognised and both.uplift == pytest.approx((last + first) / 2, abs=1e-9)
    # a name that leaves no trace at either end stays out
    assert not recognise("c", image, image, unit(style_b - style_a), tau, alone=nobody, nobody=nobody).recognised


def test_with_one_artist_both_ends_are_the_leave_one_out_gain():
    image, without = unit(content + style_a), unit(content)
    gallery = unit(style_a)
    assert style_uplift(image, without, gallery, image, without) == style_uplift(image, without, gallery)


def test_a_mixed_work_not_in_the_artists_style_is_not_recognised_whatever_its_uplift():
    from fairsplit.recognition import work_margin

    references = [unit(content), unit(content + 0.1 * style_b)]
    gallery_a = unit(style_a + 0.2 * content)
    theirs, plain = unit(style_a + 0.5 * content), unit(content + 0.05 * style_a)
    assert work_margin(theirs, gallery_a, references) > 0 > work_margin(plain, gallery_a, references)
    # the render moved towards A's gallery by chance: the uplift passes, the work does not
    image, without = unit(content + style_a), unit(content)
    least = 0.0
    passed = recognise("a", image, without, gallery_a, 0.1, work=(work_margin(theirs, gallery_a, references), least))
    refused = recognise("a", image, without, gallery_a, 0.1, work=(work_margin(plain, gallery_a, references), least))
    assert passed.recognised and not refused.recognised
    assert refused.uplift == passed.uplift > 0.1 and refused.work_margin < least
    with pytest.raises(ValueError, match="reference gallery"):
        work_margin(theirs, gallery_a, [])
