"""The on-device pixel path against the PIL path it replaced (pipeline PIL output →
CLIPImageProcessor → CLIP), on the tiny profile and on processors of CLIP ViT-L/14's size.

Tolerances, and why:
- 8-bit images: identical. Both quantise the VAE output with the same float ops.
- CLIP input: within one 8-bit level (1/255/std in normalised units) on < 1 % of values.
  PIL resizes in fixed point (22 fractional bits) and rounds each pass; the torch path
  rounds each pass too but sums in float32, so a sum that lands on a rounding boundary
  can round the other way. Without a resize (renders at CLIP's size) the input is exact.
- Embeddings: without a resize equal to float32 noise (1e-6); with a resize, a handful of
  one-level pixel differences move the tiny CLIP's unit vector by ~1e-4 (measured), so
  max |Δ| ≤ 1e-3 and cosine ≥ 1 − 1e-6.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from fairsplit.pixels import ClipInput, clip_input, from_pil, to_pil
from fairsplit.profiles import image_processor_class
from fairsplit.render import Renderer, RenderJob, embed_images, embed_pixels
from fairsplit.request import Params

RESIZED = Params(steps=4, guidance=5.0, width=64, height=48)  # resize 48→32 and 64→42, centre crop 42→32
TALL = Params(steps=4, guidance=5.0, width=48, height=96)
JOBS = (("an image of a man", 3), ("an image of a man, by Monet", 3), ("a cat asleep on a chair", 9))


def _pil_path(models, params: Params):
    """Yesterday's path: the pipeline's PIL images, the processor, CLIP (a raw pipeline
    call, so the shared runtime is put in its base state first: no LoRA, no IP-Adapter)."""
    models.runtime.use_adapters(models.pipe, ())
    with torch.inference_mode():
        images = models.pipe([p for p, _ in JOBS], num_inference_steps=params.steps, guidance_scale=params.guidance,
                             width=params.width, height=params.height,
                             generator=[torch.Generator("cpu").manual_seed(s) for _, s in JOBS]).images
        values = models.image_processor(images=images, return_tensors="pt")["pixel_values"]
        out = models.clip.get_image_features(pixel_values=values)
    features = getattr(out, "pooler_output", out).double().numpy()
    return images, features / np.linalg.norm(features, axis=1, keepdims=True)


def _one_level(spec: ClipInput) -> float:
    return 1 / 255 / min(spec.std) + 1e-5


@pytest.mark.parametrize("params", [None, RESIZED, TALL], ids=["clip-size", "wide", "tall"])
def test_renders_and_embeddings_equal_the_pil_path(tiny, params):
    params = params or tiny.default_params
    images, old = _pil_path(tiny, params)
    pixels = Renderer(tiny).render_pixels([RenderJob(p, s, params) for p, s in JOBS])
    for image, tensor in zip(images, pixels):
        assert tensor.dtype == torch.uint8 and np.array_equal(np.asarray(image), tensor.permute(1, 2, 0).numpy())
    new = embed_pixels(tiny, pixels)
    exact = (params.width, params.height) == (32, 32)
    assert np.abs(new - old).max() <= (1e-6 if exact else 1e-3)
    assert (new * old).sum(axis=1).min() >= 1 - 1e-6


def _smooth_image(rng: np.random.Generator, height: int, width: int) -> Image.Image:
    """A photo-like image: a smooth random field plus a little noise, 8-bit RGB."""
    coarse = rng.uniform(0, 255, (max(2, height // 16), max(2, width // 16), 3)).astype(np.uint8)
    image = np.asarray(Image.fromarray(coarse).resize((width, height), Image.BILINEAR), dtype=np.int16)
    image = np.clip(image + rng.integers(-12, 13, image.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(image)


@pytest.mark.parametrize("size, crop", [(32, 32), (224, 224), (224, 200)])
@pytest.mark.parametrize("shape", [(512, 512), (768, 512), (300, 451), (96, 160), (40, 30)])
def test_clip_input_matches_the_processor_within_one_level(size, crop, shape):
    processor = image_processor_class()(size={"shortest_edge": size}, crop_size={"height": crop, "width": crop})
    spec = ClipInput.of(processor)
    rng = np.random.default_rng(shape[0] * 1000 + shape[1] + size)
    image = _smooth_image(rng, *shape)
    reference = processor(images=[image], return_tensors="pt")["pixel_values"]
    ours = clip_input(from_pil(image)[None], spec)
    assert ours.shape == reference.shape
    difference = (ours - reference).abs()
    assert difference.max().item() <= _one_level(spec)
    assert (difference > 1e-4).float().mean().item() < 0.01


def test_images_that_people_see_round_trip_and_drop_alpha_like_before(tiny):
    rng = np.random.default_rng(5)
    rgba = Image.fromarray(rng.integers(0, 256, (48, 40, 4), dtype=np.uint8), "RGBA")
    assert np.array_equal(np.asarray(to_pil(from_pil(rgba))), np.asarray(rgba.convert("RGB")))
    values = tiny.image_processor(images=[rgba.convert("RGB")], return_tensors="pt")["pixel_values"]
    with torch.inference_mode():
        out = tiny.clip.get_image_features(pixel_values=values)
    old = getattr(out, "pooler_output", out).double().numpy()[0]
    assert np.abs(embed_images(tiny, [rgba])[0] - old / np.linalg.norm(old)).max() <= 1e-3


def test_processors_the_torch_path_cannot_follow_are_refused():
    processor = image_processor_class()(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}, resample=2)
    with pytest.raises(ValueError, match="bicubic"):
        ClipInput.of(processor)
