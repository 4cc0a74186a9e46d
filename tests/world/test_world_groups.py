"""The padding rule and the group rule on the test world (issue 22): unrecognised names
stay in the model's renders; one style split across ids is one group player."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from fairsplit import world
from fairsplit.attribute import AttributionConfig, attribute, event_image_png
from fairsplit.gallery import embed_gallery
from fairsplit.render import RenderJob, embed_pixels
from fairsplit.styles import style_distance
from fairsplit.world.cases import Case, gallery_images
from tests.world.support import world_models

pytestmark = pytest.mark.slow  # each renders a case's coalitions with the world's models


def test_unrecognised_names_stay_in_every_render_of_the_model_and_are_not_players():
    models, renderer, stored = world_models()
    case = Case("circle", ("glacier", "cobalt"), 5)
    keep = AttributionConfig(value_correction="none", unrecognised_words="keep")  # the padding rule
    result = attribute(case.request(), models, stored, keep, renderer)
    players = {p.id: p for p in result.players}
    assert not players["glacier"].recognised and players["cobalt"].recognised
    assert result.shares["artist:glacier"] == 0.0
    params = models.default_params
    anchor, padded, plain = embed_pixels(models, renderer.render_pixels([
        RenderJob(world.prompt("circle", ["glacier", "cobalt"]), 5, params),
        RenderJob(world.prompt("circle", ["glacier"]), 5, params),
        RenderJob(world.prompt("circle"), 5, params)]))
    model_alone = next(c.value for c in result.coalitions if c.members == ("model:world-sd",))
    assert model_alone == pytest.approx(max(0.0, float(anchor @ padded)), abs=1e-6)  # the render with glacier's words
    default = attribute(case.request(), models, stored, AttributionConfig(value_correction="none"), renderer)
    dropped = next(c.value for c in default.coalitions if c.members == ("model:world-sd",))
    assert dropped == pytest.approx(max(0.0, float(anchor @ plain)), abs=1e-6)  # the default: words dropped


def test_a_shell_company_with_other_works_is_one_group_player_and_the_pair_earns_no_more():
    models, renderer, stored = world_models()
    shell = embed_gallery(gallery_images("ember", 6, 9100), models)  # other works, a seed calibration never saw
    assert 0 < style_distance(shell.vector, stored["ember"].vector) < models.spec.style_distance
    config = AttributionConfig(tau=-1.0)  # both ids in the game, whatever their uplift
    alone = attribute(Case("ring", ("ember",), 21).request(), models, stored, config, renderer)
    request = Case("ring", ("ember", "ember-2"), 21).request({"ember-2": "ember"})
    both = attribute(request, models, {**stored, "ember-2": shell}, replace(config, keep_images=True), renderer)
    # on the very image the pair's prompt made, ember alone is valued at what the group is: the
    # group takes its least resembling member's gallery, never a mean that fits the image better
    same_image = replace(Case("ring", ("ember",), 21).request(), image_png=event_image_png(both))
    alone_on_it = attribute(same_image, models, stored, config, renderer)
    group_total = both.shares["artist:ember"] + both.shares["artist:ember-2"]
    assert group_total == pytest.approx(alone_on_it.shares["artist:ember"], abs=1e-6)
    players = {p.id: p for p in both.players}
    assert players["ember"].group == players["ember-2"].group == "ember"
    assert both.shares["artist:ember"] == both.shares["artist:ember-2"]  # split equally within the group
    assert both.shares["artist:ember"] + both.shares["artist:ember-2"] <= alone.shares["artist:ember"] + 0.02
    assert abs(sum(both.shares.values()) - 1.0) < 1e-12
    assert both.method.style_distance == models.spec.style_distance
    # distinct known styles are never grouped
    two = attribute(Case("ring", ("ember", "aster"), 21).request(), models, stored, config, renderer)
    assert all(p.group is None for p in two.players)
    assert np.isclose(sum(two.shares.values()), 1.0)
