"""The soft recognizability gate on the test world: near τ an artist keeps a sliver of
their Shapley share, far above it all of it; the model takes what the gate withholds."""

from __future__ import annotations

import pytest

from fairsplit.attribute import AttributionConfig, attribute
from fairsplit.world.cases import Case
from tests.world.support import world_models

pytestmark = pytest.mark.slow  # real world renders (32×32, 12 steps)


def test_the_gate_scales_a_share_by_the_uplift_margin_and_the_shares_still_sum_to_one():
    models, renderer, stored = world_models()
    width = models.spec.tau  # a ramp one τ wide (the profiles' default is the hard test, width 0)
    request = Case("square", ("bramble",), 11).request()
    hard = attribute(request, models, stored, AttributionConfig(), renderer)
    assert hard.method.gate_width == 0.0
    uplift = hard.players[1].uplift
    assert hard.players[1].recognised and hard.shares["artist:bramble"] > 0.3
    past_ramp = AttributionConfig(tau=uplift - 1.5 * width, gate_width=width)
    far = attribute(request, models, stored, past_ramp, renderer)
    assert far.shares == hard.shares and far.method.gate_width == width
    near_tau = uplift - 0.25 * width  # a τ just under this uplift: a quarter of the ramp
    near = attribute(request, models, stored, AttributionConfig(tau=near_tau, gate_width=width), renderer)
    near_hard = attribute(request, models, stored, AttributionConfig(tau=near_tau, gate_width=0.0), renderer)
    assert near.players[1].recognised and near_hard.shares["artist:bramble"] > 0.3
    assert near.shares["artist:bramble"] == pytest.approx(0.25 * near_hard.shares["artist:bramble"], abs=1e-12)
    assert near.shares["model:world-sd"] == pytest.approx(1 - near.shares["artist:bramble"], abs=1e-15)
    assert sum(near.shares.values()) == pytest.approx(1.0, abs=1e-15)
