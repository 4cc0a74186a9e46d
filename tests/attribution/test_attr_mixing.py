"""Image mixing on the tiny profile: an IP-Adapter built from a config and loaded with
diffusers' `load_ip_adapter`; each coalition rendered from its subset of works."""

from __future__ import annotations

import numpy as np
import pytest

from fairsplit.attribute import AttributionConfig, attribute
from fairsplit.mixing import make_work, parse_work_id, png_ref
from fairsplit.render import Renderer, RenderJob
from fairsplit.request import AttributionRequest, Style
from tests.attribution.mixing_support import flat_png


def _mix(tiny, weights=(1.0, 1.0)) -> AttributionRequest:
    styles = tuple(Style(a, work=make_work(a, flat_png(k), w)) for k, (a, w) in enumerate(zip(("ann", "bob"), weights)))
    return AttributionRequest("tiny-sd", "a cat", styles, seed=3, params=tiny.default_params)


def test_each_coalition_is_rendered_from_its_works_and_the_model_alone_from_the_text(tiny):
    result = attribute(_mix(tiny), tiny, config=AttributionConfig(tau=-1.0, keep_images=True))
    assert sum(result.shares.values()) == pytest.approx(1.0, abs=1e-12)
    assert [p.gallery_source for p in result.players[1:]] == ["work", "work"]
    images = {label: np.asarray(image) for label, image in result.images.items()}
    assert len({images[k].tobytes() for k in ("tiny-sd", "tiny-sd+ann", "tiny-sd+bob", "tiny-sd+ann+bob")}) == 4
    assert tiny.pipe.unet.encoder_hid_proj is not None  # the adapter stays loaded until a plain render
    plain = np.asarray(Renderer(tiny).render([RenderJob("a cat", 3, tiny.default_params)])[0])
    assert tiny.pipe.unet.encoder_hid_proj is None
    assert np.array_equal(images["tiny-sd"], plain)  # the model alone: the content text, no adapter
    assert type(tiny.runtime.image.encoder).__name__ == "CLIPVisionModelWithProjection"


def test_a_work_renders_the_same_alone_or_batched_with_other_mixes(tiny):
    """Per-work weights are IP-Adapter masks: a coalition's missing works add nothing, so a
    render does not depend on what else shares its batch."""
    a, b = flat_png(10), flat_png(11)
    params = tiny.default_params
    alone = Renderer(tiny).render_pixels([RenderJob("a cat", 5, params, works=((a, 1.0),))])[0]
    batched = Renderer(tiny).render_pixels([RenderJob("a cat", 5, params, works=((b, 0.7), (a, 1.0))),
                                            RenderJob("a cat", 5, params, works=((a, 1.0),))])
    assert (alone.int() - batched[1].int()).abs().max() <= 1  # the batch's float noise, one 8-bit level
    assert (batched[0].int() - batched[1].int()).abs().max() > 8
    half = Renderer(tiny).render_pixels([RenderJob("a cat", 5, params, works=((a, 0.5),))])[0]
    assert (half.int() - alone.int()).abs().max() > 8  # the weight is the work's scale


def test_the_same_work_mixed_by_two_artists_counts_both_weights(tiny):
    """Works are embedded once per PNG; two artists who mix the same PNG at 0.5 each
    condition the render as that PNG at 1.0 — neither weight is lost to the other."""
    a = flat_png(12)
    params = tiny.default_params
    whole, halves, half = Renderer(tiny).render_pixels([
        RenderJob("a cat", 5, params, works=((a, 1.0),)),
        RenderJob("a cat", 5, params, works=((a, 0.5), (a, 0.5))),
        RenderJob("a cat", 5, params, works=((a, 0.5),))])
    assert (halves.int() - whole.int()).abs().max() <= 1
    assert (halves.int() - half.int()).abs().max() > 8


def test_the_same_mix_gives_the_same_split(tiny):
    first = attribute(_mix(tiny, (1.0, 0.5)), tiny, config=AttributionConfig(tau=-1.0))
    second = attribute(_mix(tiny, (1.0, 0.5)), tiny, config=AttributionConfig(tau=-1.0))
    assert first.to_json() == second.to_json()
    assert first.shares != attribute(_mix(tiny), tiny, config=AttributionConfig(tau=-1.0)).shares


@pytest.mark.parametrize("png, weight, message", [
    (b"GIF89a" + bytes(40), 1.0, "is not a PNG"),
    (flat_png(1), 0.0, "above 0 and at most 4"),
    (flat_png(1), 4.5, "above 0 and at most 4"),
    (flat_png(1), float("nan"), "above 0 and at most 4"),
    (flat_png(1)[:60], 1.0, "cannot be read as a PNG"),
])
def test_a_bad_work_is_refused_in_one_sentence(png, weight, message):
    with pytest.raises(ValueError, match=message):
        make_work("ann", png, weight)


def test_work_ids_and_png_refs():
    assert parse_work_id("van-gogh/3") == ("van-gogh", 3)
    assert parse_work_id("works/van-gogh.png") is None and parse_work_id("Van/1") is None
    assert png_ref(b"x") == "png:2d711642b726b044"
    assert make_work("ann", flat_png(1)).ref == png_ref(flat_png(1))
