"""Rendering coalition images and embedding images and texts with CLIP.

Renders stay on the device from latents to CLIP: the pipeline returns latents, the VAE
decodes them in chunks, `fairsplit.pixels` makes 8-bit images and CLIP's input with
torch ops. PIL images are made only for people (`Renderer.render`, `to_pil`).

Renders are batched: all the jobs given to `render_pixels` that share parameters and
LoRA adapters go through the pipeline together, in calls sized by the accelerator
(`fairsplit.accelerate`: buckets for a compiled UNet, the largest batch under the memory
ceiling). Each job has its own CPU `torch.Generator` seeded with the event's seed, so a
coalition's image does not depend on which batch it was rendered in (up to kernel float
noise) and is the same on every device type.

Image mixing: a job's `works` condition its image through the profile's IP-Adapter
(`fairsplit.adapter`); jobs that mix works render in their own calls, each image with its
own works' weights (`mix_arguments`), so coalitions of one event share a call.

"Pure model" renders (content alone, no adapters, no works) are kept in an LRU cache keyed by
model, revision, prompt, seed and parameters: the same content and seed recur across
events (retries, popular prompts), and the pure render is needed by every one of them.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from fairsplit.adapter import mix_arguments
from fairsplit.pixels import ClipInput, clip_input, from_pil, group_by_size, to_levels, to_pil
from fairsplit.profiles import Models
from fairsplit.request import Params

PURE_CACHE_SIZE = 128
EMBED_BATCH = 32


@dataclass(frozen=True)
class RenderJob:
    """One image to render. `adapters`: sorted (name, path) of the LoRAs to apply;
    `works`: (PNG, weight) of the works the image is conditioned on (image mixing)."""

    prompt: str
    seed: int
    params: Params
    adapters: tuple[tuple[str, str], ...] = ()
    works: tuple[tuple[bytes, float], ...] = ()


class Renderer:
    """Batched, cached coalition rendering for one loaded profile."""

    def __init__(self, models: Models):
        self.models = models
        self.accelerator = models.runtime.accelerator
        self.pure: OrderedDict[tuple, torch.Tensor] = OrderedDict()
        self.batches = 0  # pipeline calls
        self.rendered = 0  # images rendered (padding excluded)
        self.padded = 0  # padding images rendered to fill a bucket

    def render(self, jobs: Sequence[RenderJob]) -> list[Image.Image]:
        """PIL images for `jobs`, in order: for people (galleries on disk, --save-images)."""
        return [to_pil(pixels) for pixels in self.render_pixels(jobs)]

    def render_pixels(self, jobs: Sequence[RenderJob]) -> list[torch.Tensor]:
        """uint8 (3, H, W) images for `jobs`, in order, on the device; identical jobs are rendered once."""
        done: dict[RenderJob, torch.Tensor] = {}
        todo: list[RenderJob] = []
        for job in dict.fromkeys(jobs):
            key = self._pure_key(job)
            if key in self.pure:
                self.pure.move_to_end(key)
                done[job] = self.pure[key]
            else:
                todo.append(job)
        groups: dict[tuple, list[RenderJob]] = {}
        for job in todo:
            groups.setdefault((job.params, job.adapters, bool(job.works)), []).append(job)
        for (params, adapters, works), group in groups.items():
            self.models.runtime.use_adapters(self.models.pipe, adapters, works)
            done.update(self._render_group(group, params))
        for job in todo:
            if (key := self._pure_key(job)) is not None:
                self.pure[key] = done[job]
                while len(self.pure) > PURE_CACHE_SIZE:
                    self.pure.popitem(last=False)
        return [done[job] for job in jobs]

    def _render_group(self, group: list[RenderJob], params: Params) -> dict[RenderJob, torch.Tensor]:
        """Render jobs of one parameter set in calls the accelerator sizes; a call that runs
        out of memory lowers the cap and is redone smaller."""
        done: dict[RenderJob, torch.Tensor] = {}
        while group:
            size = self.accelerator.batches(len(group), params)[0]
            chunk = group[:size]
            try:
                pixels = self._generate(chunk, params, size)
            except torch.OutOfMemoryError:
                if size == 1:
                    raise
                self.accelerator.memory.too_big(params, size)
                torch.cuda.empty_cache()
                continue
            done.update(zip(chunk, pixels))
            group = group[size:]
        return done

    def _pure_key(self, job: RenderJob) -> tuple | None:
        if job.adapters or job.works:
            return None
        gen = self.models.generator
        return (gen.id, gen.revision, job.prompt, job.seed, job.params)

    @torch.inference_mode()
    def _generate(self, jobs: Sequence[RenderJob], params: Params, size: int | None = None) -> list[torch.Tensor]:
        """One pipeline call for `jobs`, padded to `size` with copies of the last job."""
        padding = max(0, (size or len(jobs)) - len(jobs))
        batch = list(jobs) + [jobs[-1]] * padding
        self.batches += 1
        self.rendered += len(jobs)
        self.padded += padding
        mixing = {}
        if batch[0].works:  # a group mixes works in every job or in none (`render_pixels`)
            guided = params.guidance > 1 and self.models.pipe.unet.config.time_cond_proj_dim is None
            mixing = mix_arguments(self.models.runtime.image, [j.works for j in batch], guided)
        latents = self.models.pipe(
            [j.prompt for j in batch],
            num_inference_steps=params.steps,
            guidance_scale=params.guidance,
            width=params.width,
            height=params.height,
            generator=[torch.Generator("cpu").manual_seed(j.seed) for j in batch],
            output_type="latent",
            **mixing,
        ).images[: len(jobs)]
        pixels = self._decode(latents)
        return [pixels[i].clone() for i in range(len(jobs))]  # clones: a cached image must not pin its batch

    def _decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents → uint8 images (n, 3, H, W), `decode_batch` at a time (the decoder's peak is large)."""
        vae = self.models.pipe.vae
        step = self.accelerator.options.decode_batch
        return torch.cat([
            to_levels(vae.decode(latents[i : i + step] / vae.config.scaling_factor, return_dict=False)[0])
            for i in range(0, latents.shape[0], step)
        ])

    def warm_up(self, params: Params | None = None):
        """Compile and measure every bucket at `params` (the profile's defaults): what a
        worker does before serving, so that no event pays for a compile."""

        def render(batch: int, warm: Params) -> None:
            jobs = [RenderJob("warm-up", seed, warm) for seed in range(batch)]
            with torch.inference_mode():
                embed_pixels(self.models, self._generate(jobs, warm, batch))

        return self.accelerator.warm_up(render, params or self.models.default_params)


def adapter_name(artist_id: str) -> str:
    """peft adapter names must be plain identifiers."""
    return "artist_" + re.sub(r"\W", "_", artist_id)


def _normalise(features: torch.Tensor) -> np.ndarray:
    x = features.float().cpu().numpy().astype(np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


@torch.inference_mode()
def embed_pixels(models: Models, pixels: Sequence[torch.Tensor]) -> np.ndarray:
    """Unit-norm CLIP image embeddings of uint8 (3, H, W) images, one row per image.

    Images of one size are preprocessed together on the device (`fairsplit.pixels`)."""
    spec = ClipInput.of(models.image_processor)
    rows: list[np.ndarray | None] = [None] * len(pixels)
    for indices in group_by_size(pixels).values():
        for start in range(0, len(indices), EMBED_BATCH):
            part = indices[start : start + EMBED_BATCH]
            batch = torch.stack([pixels[i].to(models.device) for i in part])
            values = clip_input(batch, spec).to(models.dtype)
            out = models.clip.get_image_features(pixel_values=values)
            for i, row in zip(part, _normalise(getattr(out, "pooler_output", out))):
                rows[i] = row
    return np.stack(rows) if rows else np.zeros((0, 0))


def embed_images(models: Models, images: Sequence[Image.Image]) -> np.ndarray:
    """Unit-norm CLIP image embeddings of PIL images (event images, gallery works)."""
    return embed_pixels(models, [from_pil(image) for image in images])


@torch.inference_mode()
def embed_texts(models: Models, texts: Sequence[str]) -> np.ndarray:
    """Unit-norm CLIP text embeddings, one row per text (truncated to CLIP's 77 tokens)."""
    tokens = models.tokenizer(list(texts), padding="max_length", truncation=True, return_tensors="pt")
    out = models.clip.get_text_features(
        input_ids=tokens["input_ids"].to(models.device), attention_mask=tokens["attention_mask"].to(models.device)
    )
    return _normalise(getattr(out, "pooler_output", out))
