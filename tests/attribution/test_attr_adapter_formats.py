"""The IP-Adapter's input formats on the tiny generator: the plain file (pooled embedding →
4 tokens; the tiny and world profiles', SD 1.5's `ip-adapter_sd15`) and the patch formats
— Full (one token per patch of the encoder's penultimate hidden states) and Plus (a
resampler over them; SD 1.5's `ip-adapter-plus_sd15`) — each written in its published file
layout, loaded by diffusers' `load_ip_adapter` and fed as diffusers' own pipeline feeds it."""

from __future__ import annotations

import pytest
import torch

from fairsplit.adapter import (AdapterSource, ImageAdapter, NoAcceleration, build_random_adapter,
                               cross_attention_layers, loaded_adapter, mix_arguments, random_adapter, save_adapter)
from tests.attribution.mixing_support import flat_png


@pytest.fixture(scope="module")
def tiny_pipe(model_sources):
    from diffusers import StableDiffusionPipeline

    from fairsplit.profiles import ensure_tiny_models

    root = ensure_tiny_models(model_sources.cache_dir)
    return StableDiffusionPipeline.from_pretrained(root / "sd", safety_checker=None, requires_safety_checker=False)


def plus_adapter(folder, unet) -> AdapterSource:
    """A seeded random IP-Adapter Plus in the published file layout (resampler of depth 4,
    as diffusers' loader builds it; 16 queries of width 64, one 64-wide head) with the
    tiny profile's image encoder."""
    from transformers import CLIPVisionModelWithProjection

    plain = build_random_adapter(folder / "plain", unet, 5, 32)
    gen = torch.Generator().manual_seed(6)
    hidden, width = 64, unet.config.cross_attention_dim

    def rand(*shape):
        return torch.randn(*shape, generator=gen) * shape[-1] ** -0.5

    def ones():
        return torch.ones(hidden)

    def zeros():
        return torch.zeros(hidden)

    state = {"image_proj.latents": rand(1, 16, hidden), "image_proj.proj_in.weight": rand(hidden, 32),
             "image_proj.proj_in.bias": zeros(), "image_proj.proj_out.weight": rand(width, hidden),
             "image_proj.proj_out.bias": torch.zeros(width), "image_proj.norm_out.weight": torch.ones(width),
             "image_proj.norm_out.bias": torch.zeros(width)}
    for i in range(4):
        block = f"image_proj.layers.{i}."
        state.update({block + "0.norm1.weight": ones(), block + "0.norm1.bias": zeros(),
                      block + "0.norm2.weight": ones(), block + "0.norm2.bias": zeros(),
                      block + "0.to_q.weight": rand(hidden, hidden), block + "0.to_kv.weight": rand(2 * hidden, hidden),
                      block + "0.to_out.weight": rand(hidden, hidden), block + "1.0.weight": ones(),
                      block + "1.0.bias": zeros(), block + "1.1.weight": rand(4 * hidden, hidden),
                      block + "1.3.weight": rand(hidden, 4 * hidden)})
    for key_id, _, size in cross_attention_layers(unet):
        for part in ("to_k_ip", "to_v_ip"):
            state[f"ip_adapter.{key_id}.{part}.weight"] = rand(size, width)
    encoder = CLIPVisionModelWithProjection.from_pretrained(f"{plain.path}/image_encoder")
    return save_adapter(folder / "plus", state, encoder)


@pytest.mark.parametrize("layout, projection, shape", [
    ("plain", "ImageProjection", (2, 32)),
    ("full", "IPAdapterFullImageProjection", (2, 17, 32)),  # 16 patches of 8 px in 32 px, and the class token
])
def test_each_layout_loads_as_its_format_and_is_fed_what_diffusers_feeds_it(tiny_pipe, tmp_path, layout, projection,
                                                                              shape):
    from safetensors.torch import load_file

    source = build_random_adapter(tmp_path / layout, tiny_pipe.unet, 5, 32, layout)
    adapter = ImageAdapter(source)
    adapter.use(tiny_pipe, NoAcceleration(), True)
    try:
        assert type(tiny_pipe.unet.encoder_hid_proj.image_projection_layers[0]).__name__ == projection
        assert adapter.hidden_states == (layout == "full")
        written = load_file(tmp_path / layout / "ip-adapter.safetensors")
        back = loaded_adapter(tiny_pipe.unet)
        assert back.keys() == written.keys() and all(torch.equal(back[k], written[k]) for k in written)

        a, b = flat_png(1), flat_png(2)
        args = mix_arguments(adapter, [[(a, 1.0)], [(a, 0.5), (b, 1.0)]], guidance=True)
        embeds, masks = args["ip_adapter_image_embeds"][0], args["cross_attention_kwargs"]["ip_adapter_masks"][0]
        assert embeds.shape == (2, *shape) and masks[:, :, 0, 0].tolist() == [[1.0, 0.0], [0.5, 1.0]] * 2
        assert not torch.equal(embeds[1, 0], embeds[1, 1])  # two works, two inputs
        pixels = torch.zeros(1, 3, 32, 32)  # diffusers' unconditional input: an all-zero encoder input
        if layout == "full":
            blank = adapter.encoder(pixel_values=pixels, output_hidden_states=True).hidden_states[-2][0]
        else:
            blank = torch.zeros(shape[1:])
        assert all(torch.equal(row, blank) for row in embeds[0])
    finally:
        adapter.use(tiny_pipe, NoAcceleration(), False)
    assert tiny_pipe.unet.encoder_hid_proj is None


def test_a_plus_adapter_reads_patches_and_conditions_each_image_on_its_own_works(tiny_pipe, tmp_path):
    adapter = ImageAdapter(plus_adapter(tmp_path, tiny_pipe.unet))
    adapter.use(tiny_pipe, NoAcceleration(), True)
    try:
        assert type(tiny_pipe.unet.encoder_hid_proj.image_projection_layers[0]).__name__ == \
            "IPAdapterPlusImageProjection"
        assert adapter.hidden_states
        a, b = flat_png(1), flat_png(2)
        mixes = [[(a, 1.0)], [(a, 1.0), (b, 0.0001)], [(b, 1.0)]]
        args = mix_arguments(adapter, mixes, guidance=True)
        assert args["ip_adapter_image_embeds"][0].shape == (2, 2, 17, 32)
        images = tiny_pipe(["a cat"] * 3, num_inference_steps=2, guidance_scale=2.0, width=32, height=32,
                           generator=[torch.Generator().manual_seed(0) for _ in mixes], output_type="np", **args).images
    finally:
        adapter.use(tiny_pipe, NoAcceleration(), False)
    assert abs(images[0] - images[1]).max() < 0.01  # a work at (nearly) no weight adds (nearly) nothing
    assert abs(images[0] - images[2]).max() > 0.05  # another work, another image


def test_an_unknown_layout_is_refused(tiny_pipe):
    with pytest.raises(ValueError, match="layout is one of plain, full"):
        random_adapter(tiny_pipe.unet, 32, 0, "plus")
