"""The attribution pipeline on the tiny random models (real diffusers/transformers code)."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from fairsplit.attribute import AttributionConfig, attribute, attribute_many
from fairsplit.gallery import embed_gallery, synthesize_gallery
from fairsplit.profiles import make_tiny_lora
from fairsplit.render import Renderer, RenderJob, embed_images, embed_pixels
from fairsplit.request import AttributionRequest, ImageEmbedding, Style
from fairsplit.shapley import ShapleyConfig

KEEP_ALL = AttributionConfig(tau=-1.0)
STYLES = (Style("van-gogh", "by Van Gogh"), Style("monet", "by Monet"), Style("hokusai", "by Hokusai"))


def request(k: int, **kw) -> AttributionRequest:
    return AttributionRequest("sd-1.5", "an image of a man", STYLES[:k], seed=3, **kw)


def test_one_artist_matches_the_closed_form(tiny):
    result = attribute(request(1), tiny, config=KEEP_ALL)
    v = {c.members: c.value for c in result.coalitions}
    v_m, v_a = v[("model:sd-1.5",)], v[("artist:van-gogh",)]
    phi_a = 0.5 * (v_a + 1 - v_m)
    phi_m = 0.5 * (v_m + 1 - v_a)
    assert math.isclose(result.shares["artist:van-gogh"], phi_a / (phi_a + phi_m), abs_tol=1e-12)
    assert abs(math.fsum(result.shares.values()) - 1) < 1e-12
    assert result.method.test_model and result.method.generator.revision


@pytest.mark.parametrize("mode", ["generative", "text"])
def test_a_prompt_naming_no_artist_pays_the_model_everything_without_rendering(tiny, mode):
    renderer = Renderer(tiny)
    result = attribute(request(0), tiny, config=AttributionConfig(mode=mode), renderer=renderer)
    assert result.shares == {"model:sd-1.5": 1.0}
    assert [p.account for p in result.players] == ["model:sd-1.5"]
    assert renderer.batches == 0


def test_no_coalition_is_rendered_twice_and_events_share_batches(tiny):
    renderer = Renderer(tiny)
    galleries = {}  # none stored: every gallery is synthesized
    results = attribute_many([request(3), request(2)], tiny, galleries, KEEP_ALL, renderer)
    # 3 synthesized galleries x 3 seeds (a call each), then 2^3 coalitions with the model
    # (event 2's are a subset; one call): each distinct image rendered once, no padding
    assert (renderer.rendered, renderer.padded, renderer.batches) == (9 + 8, 0, 3 + 1)
    assert {p.gallery_source for r in results for p in r.players[1:]} == {"synthesized"}


def test_event_image_is_the_grand_coalition_and_deterministic(tiny):
    first = attribute(request(2), tiny, config=AttributionConfig(tau=-1.0, keep_images=True))
    image = first.images["sd-1.5+van-gogh+monet"]
    png = io.BytesIO()
    image.save(png, format="PNG")
    given = attribute(request(2, image_png=png.getvalue()), tiny, config=KEEP_ALL)
    assert given.method.grand_image == "event"
    assert given.to_json() == attribute(request(2, image_png=png.getvalue()), tiny, config=KEEP_ALL).to_json()
    assert "timings" not in given.to_json()


def test_an_image_embedding_stands_for_the_grand_coalition_so_one_artist_needs_one_render(tiny):
    stored = {"van-gogh": synthesize_gallery(STYLES[0], Renderer(tiny), tiny.default_params)}
    regenerated = attribute(request(1), tiny, stored, KEEP_ALL, Renderer(tiny))
    grand = RenderJob("an image of a man, by Van Gogh", 3, tiny.default_params)
    vector = embed_pixels(tiny, Renderer(tiny).render_pixels([grand]))[0].astype(np.float32) * 3.0  # any scale
    brought = ImageEmbedding(tuple(float(v) for v in vector), tiny.embedder.id, tiny.embedder.revision)
    renderer = Renderer(tiny)
    result = attribute(request(1, image_embedding=brought), tiny, stored, KEEP_ALL, renderer)
    assert renderer.rendered == 1  # only N∖a = the model alone
    assert result.method.grand_image == "event-embedding"
    for account, share in regenerated.shares.items():  # float32 of the same vector: same split
        assert abs(result.shares[account] - share) < 1e-6


def test_an_image_embedding_from_another_embedder_is_refused_in_one_sentence(tiny):
    other = ImageEmbedding((0.5,) * 32, "openai/clip-vit-base-patch32", "main")
    with pytest.raises(ValueError) as info:
        attribute(request(1, image_embedding=other), tiny, config=KEEP_ALL)
    assert str(info.value) == (
        "the event's image embedding was made with openai/clip-vit-base-patch32 (revision main), "
        f"but this worker embeds with {tiny.embedder.id} (revision {tiny.embedder.revision})"
    )
    short = ImageEmbedding((0.5,) * 3, tiny.embedder.id, tiny.embedder.revision)
    with pytest.raises(ValueError, match="has 3 values, .* makes 32"):
        attribute(request(1, image_embedding=short), tiny, config=KEEP_ALL)


def test_sampling_estimator_above_the_exact_limit(tiny):
    config = AttributionConfig(tau=-1.0, shapley=ShapleyConfig(max_exact_players=2, budget=12, seed=1))
    result = attribute(request(3), tiny, config=config)
    assert result.method.estimator == "kernel-stratified-paired"
    assert set(result.stderr) == set(result.shares)
    assert abs(math.fsum(result.shares.values()) - 1) < 1e-12


def test_text_mode_is_labelled_an_approximation(tiny):
    result = attribute(request(2), tiny, config=AttributionConfig(mode="text", tau=-1.0))
    assert result.method.approximation and result.method.value_function == "text"
    assert abs(math.fsum(result.shares.values()) - 1) < 1e-12


def test_gallery_from_images(tiny):
    images = Renderer(tiny).render([RenderJob("by Monet", s, tiny.default_params) for s in range(2)])
    gallery = embed_gallery(images, tiny)
    assert gallery.count == 2 and gallery.model_id == tiny.embedder.id
    assert np.isclose(np.linalg.norm(gallery.vector), 1.0)


def test_lora_changes_only_the_coalitions_of_its_artist(tiny, tmp_path, model_sources):
    lora = str(make_tiny_lora(tmp_path / "lora", model_sources.cache_dir))
    renderer = Renderer(tiny)
    styled = request(2)
    styled = AttributionRequest(
        styled.model_id, styled.content, (Style("van-gogh", "by Van Gogh", lora), STYLES[1]), seed=3
    )
    config = AttributionConfig(tau=-1.0, keep_images=True)
    with_lora = attribute(styled, tiny, config=config, renderer=renderer).images
    plain = attribute(request(2), tiny, config=config, renderer=Renderer(tiny)).images

    def emb(img):
        return embed_images(tiny, [img])[0]

    for label in with_lora:
        # the two runs batch the renders differently (the LoRA's coalitions apart), and a
        # multi-threaded CPU matmul may round a pixel the other way: one level of 255 is the
        # same render; the LoRA moves its coalitions by far more
        moved = np.abs(np.asarray(with_lora[label], dtype=int) - np.asarray(plain[label], dtype=int)).max()
        assert (moved <= 1) == ("van-gogh" not in label), (label, moved)
    assert not np.allclose(emb(with_lora["sd-1.5+van-gogh"]), emb(plain["sd-1.5+van-gogh"]))
