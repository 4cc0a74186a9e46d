"""Style distance, groups and the ROC choice of the distance (fairsplit.styles), pure."""

from __future__ import annotations

import numpy as np
import pytest

from fairsplit.styles import choose_distance, nearest_style, style_distance, style_groups


def unit(*xs):
    v = np.asarray(xs, float)
    return v / np.linalg.norm(v)


def test_groups_are_the_components_of_closer_than_the_threshold():
    g = [unit(1, 0, 0), unit(0, 1, 0), unit(0.999, 0.04, 0), unit(0, 0, 1), unit(0.997, 0.08, 0)]
    assert style_groups(g, 0.01) == [[0, 2, 4], [1], [3]]  # 0–2 and 2–4 close: one group, transitively
    assert style_groups(g, 0.0) == [[0], [1], [2], [3], [4]]  # 0 turns grouping off
    assert style_distance(g[0], g[0]) == 0.0 and style_distance(g[0], -g[0]) == 2.0


def test_the_nearest_registered_style_and_its_distance():
    registered = {"b": unit(0, 1), "a": unit(1, 0.1)}
    assert nearest_style(unit(1, 0), registered) == ("a", pytest.approx(1 - 1 / np.sqrt(1.01), abs=1e-9))
    assert nearest_style(unit(1, 0), {}) is None


def test_the_distance_separates_other_works_of_one_artist_from_distinct_artists_midway():
    chosen = choose_distance(same=[0.01, 0.05, 0.12], distinct=[0.3, 0.6, 0.9])
    assert chosen.tau == pytest.approx(0.21) and chosen.recall == 1.0 and chosen.false_positive_rate == 0.0
    overlapping = choose_distance(same=[0.05, 0.4], distinct=[0.2, 0.9, 0.95])
    assert overlapping.recall == 1.0 and overlapping.false_positive_rate == pytest.approx(1 / 3)


def test_the_distance_keeps_every_same_artist_pair_within_even_where_many_distinct_pairs_collide():
    # Youden's J would stop at 0.15 (two of three same-artist pairs, no distinct one): a shell
    # company with the third gallery would register; the rule refuses it and lets an operator
    # allow the distinct artists that collide
    chosen = choose_distance(same=[0.05, 0.1, 0.6], distinct=[0.2, 0.3, 0.4, 0.7])
    assert chosen.tau == pytest.approx(0.65) and chosen.recall == 1.0
    assert chosen.false_positive_rate == pytest.approx(3 / 4)
    with pytest.raises(ValueError):
        choose_distance(same=[], distinct=[0.2])


def test_a_group_is_valued_with_its_least_resembling_members_gallery_and_others_keep_theirs():
    from fairsplit.styles import group_galleries

    image = unit(1, 0)
    near, nearer, far, alone = unit(1, 0.5), unit(1, 0.2), unit(1, 2), unit(0, 1)
    chosen = group_galleries([near, nearer, far, alone], [[0, 1, 2], [3]], image)
    assert all(np.array_equal(chosen[j], far) for j in (0, 1, 2)) and chosen[3] is alone
    # the unit mean of a group's galleries may fit the image better than any of them: never used
    mean = (near + far) / np.linalg.norm(near + far)
    assert float(image @ mean) > float(image @ far)
