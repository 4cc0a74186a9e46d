"""Rendering coalition images and embedding images and texts with CLIP.

Renders are batched: all the jobs given to `render` that share parameters and LoRA
adapters go through the pipeline together, in chunks sized by the profile's memory
budget. Each job has its own CPU `torch.Generator` seeded with the event's seed, so a
coalition's image does not depend on which batch it was rendered in (up to kernel
float noise) and is the same on every device type.

"Pure model" renders (content alone, no adapters) are kept in an LRU cache keyed by
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

from fairsplit.profiles import Models
from fairsplit.request import Params

PURE_CACHE_SIZE = 128
BYTES_PER_PIXEL = 2048  # rough peak activation memory per output pixel of an SD render


@dataclass(frozen=True)
class RenderJob:
    """One image to render. `adapters`: sorted (name, path) of the LoRAs to apply."""

    prompt: str
    seed: int
    params: Params
    adapters: tuple[tuple[str, str], ...] = ()


class Renderer:
    """Batched, cached coalition rendering for one loaded profile."""

    def __init__(self, models: Models):
        self.models = models
        self.pure: OrderedDict[tuple, Image.Image] = OrderedDict()
        self.batches = 0

    def render(self, jobs: Sequence[RenderJob]) -> list[Image.Image]:
        """Images for `jobs`, in order; identical jobs are rendered once."""
        done: dict[RenderJob, Image.Image] = {}
        todo: list[RenderJob] = []
        for job in dict.fromkeys(jobs):
            if self._pure_key(job) in self.pure:
                self.pure.move_to_end(self._pure_key(job))
                done[job] = self.pure[self._pure_key(job)]
            else:
                todo.append(job)
        groups: dict[tuple, list[RenderJob]] = {}
        for job in todo:
            groups.setdefault((job.params, job.adapters), []).append(job)
        for (params, adapters), group in groups.items():
            self._use_adapters(adapters)
            step = self.batch_size(params)
            for start in range(0, len(group), step):
                chunk = group[start : start + step]
                done.update(zip(chunk, self._generate(chunk, params)))
        for job in todo:
            if not job.adapters:
                self.pure[self._pure_key(job)] = done[job]
                while len(self.pure) > PURE_CACHE_SIZE:
                    self.pure.popitem(last=False)
        return [done[job] for job in jobs]

    def batch_size(self, params: Params) -> int:
        """Images per pipeline call: the memory budget over a per-image estimate
        (doubled for classifier-free guidance)."""
        per_image = params.width * params.height * BYTES_PER_PIXEL * (2 if params.guidance > 1 else 1)
        return max(1, self.models.memory_budget // per_image)

    def _pure_key(self, job: RenderJob) -> tuple | None:
        if job.adapters:
            return None
        gen = self.models.generator
        return (gen.id, gen.revision, job.prompt, job.seed, job.params)

    @torch.inference_mode()
    def _generate(self, jobs: Sequence[RenderJob], params: Params) -> list[Image.Image]:
        self.batches += 1
        out = self.models.pipe(
            [j.prompt for j in jobs],
            num_inference_steps=params.steps,
            guidance_scale=params.guidance,
            width=params.width,
            height=params.height,
            generator=[torch.Generator("cpu").manual_seed(j.seed) for j in jobs],
        )
        return list(out.images)

    def _use_adapters(self, adapters: tuple[tuple[str, str], ...]) -> None:
        """Activate exactly these LoRA adapters (none: the base model)."""
        pipe, loaded = self.models.pipe, self.models.adapters
        for name, path in adapters:
            if loaded.get(name) != path:
                if name in loaded:
                    pipe.delete_adapters(name)
                pipe.load_lora_weights(path, adapter_name=name)
                loaded[name] = path
        if adapters:
            pipe.enable_lora()
            pipe.set_adapters([name for name, _ in adapters])
        elif loaded:
            pipe.disable_lora()


def adapter_name(artist_id: str) -> str:
    """peft adapter names must be plain identifiers."""
    return "artist_" + re.sub(r"\W", "_", artist_id)


def _normalise(features: torch.Tensor) -> np.ndarray:
    x = features.float().cpu().numpy().astype(np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


EMBED_BATCH = 32


@torch.inference_mode()
def embed_images(models: Models, images: Sequence[Image.Image]) -> np.ndarray:
    """Unit-norm CLIP image embeddings, one row per image."""
    rows = []
    for start in range(0, len(images), EMBED_BATCH):
        chunk = [im.convert("RGB") for im in images[start : start + EMBED_BATCH]]
        pixels = models.image_processor(images=chunk, return_tensors="pt")["pixel_values"]
        out = models.clip.get_image_features(pixel_values=pixels.to(models.device, models.dtype))
        rows.append(_normalise(getattr(out, "pooler_output", out)))
    return np.concatenate(rows)


@torch.inference_mode()
def embed_texts(models: Models, texts: Sequence[str]) -> np.ndarray:
    """Unit-norm CLIP text embeddings, one row per text (truncated to CLIP's 77 tokens)."""
    tokens = models.tokenizer(list(texts), padding="max_length", truncation=True, return_tensors="pt")
    out = models.clip.get_text_features(
        input_ids=tokens["input_ids"].to(models.device), attention_mask=tokens["attention_mask"].to(models.device)
    )
    return _normalise(getattr(out, "pooler_output", out))
