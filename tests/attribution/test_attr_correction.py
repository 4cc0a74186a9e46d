"""Bias-corrected values and the calibration of τ: the arithmetic, on plain vectors."""

from __future__ import annotations

import numpy as np
import pytest

from fairsplit.calibration import choose_tau, rates
from fairsplit.values import above_floor, coalition_values, image_floor, unit_mean


def test_the_floor_maps_to_zero_and_a_perfect_match_stays_one():
    assert above_floor(0.9, 0.9) == 0.0
    assert above_floor(1.0, 0.9) == pytest.approx(1.0)
    assert above_floor(0.95, 0.9) == pytest.approx(0.5)
    assert above_floor(0.7, None) == 0.7


def test_an_artist_at_the_floor_is_worth_nothing_alone_with_the_correction_only():
    rng = np.random.default_rng(0)
    common = rng.standard_normal(16)
    anchor = unit_mean([common + 0.3 * rng.standard_normal(16)])
    references = [unit_mean([common + 0.3 * rng.standard_normal(16) for _ in range(4)]) for _ in range(4)]
    absent = unit_mean([common + 0.3 * rng.standard_normal(16) for _ in range(4)])  # no more like the image than any
    floor = image_floor(anchor, references)
    model = {1: anchor}
    paper = coalition_values([1, 2, 3], 3, anchor, model, [absent])
    corrected = coalition_values([1, 2, 3], 3, anchor, model, [absent], floor=floor)
    assert paper[2] > 0.8 and corrected[2] < 0.1
    assert paper[3] == corrected[3] == 1.0


def test_image_floor_needs_references():
    with pytest.raises(ValueError):
        image_floor(np.ones(3), [])


def test_tau_separates_visible_from_invisible_uplifts_by_roc():
    uplifts = [0.10, 0.08, 0.12, 0.001, -0.002, 0.003, 0.05]
    visible = [True, True, True, False, False, False, True]
    chosen = choose_tau(uplifts, visible)
    assert 0.003 < chosen.tau < 0.05
    assert (chosen.precision, chosen.recall, chosen.false_positive_rate) == (1.0, 1.0, 0.0)
    assert rates(uplifts, visible, chosen.tau) == (1.0, 1.0, 0.0)


def test_overlapping_uplifts_give_the_best_youden_threshold_ties_going_to_the_higher_tau():
    chosen = choose_tau([0.1, 0.04, 0.03, 0.0], [True, False, True, False])
    assert chosen.recall - chosen.false_positive_rate == pytest.approx(0.5)
    assert chosen.tau == pytest.approx(0.07) and chosen.precision == 1.0


def test_calibration_needs_both_labels():
    with pytest.raises(ValueError):
        choose_tau([0.1, 0.2], [True, True])


def test_a_negative_floor_is_taken_as_zero_so_the_correction_never_raises_a_value():
    anchor = np.array([1.0, 0.0, 0.0])
    opposite = [np.array([-1.0, 0.2, 0.0]), np.array([-0.8, 0.0, 0.6])]
    assert image_floor(anchor, opposite) == 0.0
    assert above_floor(0.3, image_floor(anchor, opposite)) == pytest.approx(0.3)
