"""Artist galleries: the normalised mean CLIP embedding of an artist's reference works.

An artist alone (a coalition without the model) is represented by their gallery. The
caller stores galleries (the registry); the stateless CLI either embeds a folder given
with `--gallery ID=DIR` or, failing that, synthesises one (see `synthesize_gallery`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from fairsplit.budget import open_image
from fairsplit.profiles import Models
from fairsplit.render import RenderJob, Renderer, adapter_name, embed_images, embed_pixels
from fairsplit.request import Gallery, Params, Style
from fairsplit.values import unit_mean

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}
SYNTHETIC_SEEDS = (0, 1, 2)


def embed_gallery(works: str | Path | Sequence[Image.Image], models: Models) -> Gallery:
    """Embed a folder of images (or the images themselves) into a gallery."""
    if isinstance(works, (str, Path)):
        folder = Path(works)
        if not folder.is_dir():
            raise ValueError(f"gallery folder {folder} does not exist")
        paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        works = [open_image(p) for p in paths]
    if not works:
        raise ValueError("a gallery needs at least one image")
    return Gallery(unit_mean(embed_images(models, works)), len(works), models.embedder.id)


def gallery_thumbnails(folder: str | Path, count: int = 4, size: int = 96) -> list[bytes]:
    """Small PNGs of the first `count` works of a gallery folder, for pictures of a split."""
    import io

    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:count]
    thumbnails = []
    for path in paths:
        with open_image(path) as image:
            image = image.convert("RGB")
            image.thumbnail((size, size))
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            thumbnails.append(buffer.getvalue())
    return thumbnails


def synthesize_gallery(style: Style, renderer: Renderer, params: Params) -> Gallery:
    """Fallback for an unregistered artist: render the style alone (its phrase and LoRA,
    no content) with a few fixed seeds and embed the renders.

    This is the model's idea of the artist, not the artist's work: good enough for a
    stateless demo, labelled `synthesized` in every result, never what a payout should
    rest on.
    """
    adapters = ((adapter_name(style.artist_id), style.lora),) if style.lora else ()
    jobs = [RenderJob(style.phrase, seed, params, adapters) for seed in SYNTHETIC_SEEDS]
    pixels = renderer.render_pixels(jobs)  # stays on the device: nobody looks at these
    models = renderer.models
    return Gallery(unit_mean(embed_pixels(models, pixels)), len(pixels), models.embedder.id, "synthesized")


REFERENCE_SEEDS = (0, 1, 2, 3)  # one reference gallery per seed, of the profile's reference contents


def reference_galleries(renderer: Renderer, params: Params) -> list:
    """Galleries that have nothing to do with any artist: for each reference seed, the
    unit mean embedding of the model's renders of its reference contents with no artist
    named. Rendered once per profile and parameters; the most recently used few are kept
    with the loaded models."""
    models = renderer.models

    def make(params: Params) -> list:
        contents = models.spec.reference_contents
        jobs = [RenderJob(c, seed, params) for seed in REFERENCE_SEEDS for c in contents]
        vectors = embed_pixels(models, renderer.render_pixels(jobs))
        n = len(contents)
        return [unit_mean(vectors[k * n : (k + 1) * n]) for k in range(len(REFERENCE_SEEDS))]

    return models.runtime.reference_galleries(params, make)
