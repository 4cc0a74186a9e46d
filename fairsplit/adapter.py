"""Image conditioning for image mixing: diffusers' IP-Adapter, loaded like any other model.

A mixed generation is conditioned on artists' works through an IP-Adapter (Ye et al.,
arXiv 2308.06721): an image encoder (`CLIPVisionModelWithProjection`) embeds each work,
a projection turns the embedding into 4 extra context tokens, and every cross-attention
layer of the UNet attends to them with its own key/value projections (`to_k_ip`,
`to_v_ip`), adding the result scaled by the work's weight. Every profile loads its adapter
with diffusers' `load_ip_adapter(id_or_path, subfolder, weight_name)` from an
`AdapterSource`: sd15 the published SD 1.5 adapter (`h94/IP-Adapter`, `models`,
`ip-adapter_sd15.safetensors`, with the image encoder it ships in `models/image_encoder`),
tiny a seeded random one built here from a config (`build_random_adapter`), world the one
trained on the test world (`fairsplit.world.train_adapter`).

Several works in one render, each with its own weight, and a different subset of works
per coalition in one batch: all the call's works go in as `ip_adapter_image_embeds`
(1, works, dim) and each image's weights as `ip_adapter_masks` (batch, works, 1, 1) —
with masks diffusers attends to each work separately and adds `weight × attention`, so a
work missing from a coalition (weight 0) adds exactly nothing and coalitions of different
subsets share one pipeline call (`mix_arguments`).

Two input formats, told apart by the projection the file loads as (the rule diffusers'
own pipeline applies): the plain adapter (`ImageProjection`, 4 tokens from the pooled,
projected embedding; SD 1.5's `ip-adapter_sd15`) and the patch formats (IP-Adapter Full
and Plus: tokens from the encoder's penultimate hidden states, one per patch or a
resampler's queries; SD 1.5's `ip-adapter-plus_sd15`). `embed` and the unconditional
branch follow the loaded one.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from fairsplit.pixels import ClipInput, clip_input, from_pil, group_by_size

TOKENS = 4  # context tokens per work of the plain format (the IP-Adapter's `ImageProjection`)
LAYOUTS = ("plain", "full")  # what `random_adapter` builds: pooled embedding → 4 tokens, or one token per patch
WEIGHT_NAME = "ip-adapter.safetensors"


@dataclass(frozen=True)
class AdapterSource:
    """Where an IP-Adapter comes from: `load_ip_adapter(path, subfolder, weight_name,
    image_encoder_folder)` (a hub id or a local folder)."""

    path: str
    subfolder: str = ""
    weight_name: str = WEIGHT_NAME
    image_encoder_folder: str = "image_encoder"
    revision: str | None = None


def cross_attention_layers(unet) -> list[tuple[int, str, int]]:
    """(key id, processor name, hidden size) of every cross-attention layer, numbered as
    IP-Adapter files number them: 1, 3, 5, … in processor order, the hidden size from the
    block (diffusers' `_convert_ip_adapter_attn_to_diffusers`)."""
    channels = list(unet.config.block_out_channels)
    layers, key_id = [], 1
    for name in unet.attn_processors:
        if name.endswith("attn1.processor") or "motion_modules" in name:
            continue
        if name.startswith("mid_block"):
            hidden = channels[-1]
        elif name.startswith("up_blocks"):
            hidden = list(reversed(channels))[int(name[len("up_blocks.")])]
        else:
            hidden = channels[int(name[len("down_blocks.")])]
        layers.append((key_id, name, hidden))
        key_id += 2
    return layers


def random_adapter(unet, embed_dim: int, seed: int, layout: str = "plain") -> dict[str, torch.Tensor]:
    """An IP-Adapter state dict in the file's layout ("image_proj.*", "ip_adapter.<id>.*")
    with seeded random weights, shaped for `unet` and an image encoder of `embed_dim`:
    "plain" projects the pooled embedding to TOKENS tokens, "full" maps every patch of the
    penultimate hidden states (width `embed_dim`) to a token through an MLP (the
    IP-Adapter Full file format, `proj.0`/`proj.2` linear, `proj.3` norm)."""
    if layout not in LAYOUTS:
        raise ValueError(f"an adapter layout is one of {', '.join(LAYOUTS)}")
    gen = torch.Generator().manual_seed(seed)
    width = unet.config.cross_attention_dim
    if layout == "plain":
        state = {
            "image_proj.proj.weight": torch.randn(TOKENS * width, embed_dim, generator=gen) * embed_dim ** -0.5,
            "image_proj.proj.bias": torch.zeros(TOKENS * width),
            "image_proj.norm.weight": torch.ones(width),
            "image_proj.norm.bias": torch.zeros(width),
        }
    else:
        state = {
            "image_proj.proj.0.weight": torch.randn(embed_dim, embed_dim, generator=gen) * embed_dim ** -0.5,
            "image_proj.proj.0.bias": torch.zeros(embed_dim),
            "image_proj.proj.2.weight": torch.randn(width, embed_dim, generator=gen) * embed_dim ** -0.5,
            "image_proj.proj.2.bias": torch.zeros(width),
            "image_proj.proj.3.weight": torch.ones(width),
            "image_proj.proj.3.bias": torch.zeros(width),
        }
    for key_id, _, hidden in cross_attention_layers(unet):
        for part in ("to_k_ip", "to_v_ip"):
            state[f"ip_adapter.{key_id}.{part}.weight"] = torch.randn(hidden, width, generator=gen) * width ** -0.5
    return state


def uses_hidden_states(unet) -> bool:
    """Whether the loaded adapter reads the image encoder's penultimate hidden states (Full,
    Plus) rather than its pooled embedding (plain): diffusers' pipeline's own rule."""
    from diffusers.models.embeddings import ImageProjection

    return not isinstance(unet.encoder_hid_proj.image_projection_layers[0], ImageProjection)


def loaded_adapter(unet) -> dict[str, torch.Tensor]:
    """The state dict (file layout) of the plain or Full IP-Adapter loaded in `unet` (after
    training)."""
    from diffusers.models.embeddings import IPAdapterFullImageProjection

    proj = unet.encoder_hid_proj.image_projection_layers[0]
    if isinstance(proj, IPAdapterFullImageProjection):
        first, second = proj.ff.net[0].proj, proj.ff.net[2]
        state = {"image_proj.proj.0.weight": first.weight, "image_proj.proj.0.bias": first.bias,
                 "image_proj.proj.2.weight": second.weight, "image_proj.proj.2.bias": second.bias,
                 "image_proj.proj.3.weight": proj.norm.weight, "image_proj.proj.3.bias": proj.norm.bias}
    else:
        state = {"image_proj.proj.weight": proj.image_embeds.weight, "image_proj.proj.bias": proj.image_embeds.bias,
                 "image_proj.norm.weight": proj.norm.weight, "image_proj.norm.bias": proj.norm.bias}
    processors = unet.attn_processors
    for key_id, name, _ in cross_attention_layers(unet):
        state[f"ip_adapter.{key_id}.to_k_ip.weight"] = processors[name].to_k_ip[0].weight
        state[f"ip_adapter.{key_id}.to_v_ip.weight"] = processors[name].to_v_ip[0].weight
    return {k: v.detach().contiguous().clone() for k, v in state.items()}


def save_adapter(folder: Path, state: dict[str, torch.Tensor], image_encoder) -> AdapterSource:
    """Write an adapter as diffusers loads it: the weights file and `image_encoder/`."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(state, str(folder / WEIGHT_NAME))
    image_encoder.save_pretrained(folder / "image_encoder", safe_serialization=True)
    return AdapterSource(str(folder))


def build_random_adapter(folder: Path, unet, seed: int, image_size: int, layout: str = "plain") -> AdapterSource:
    """A tiny IP-Adapter from a config (the tiny profile's, plain): a seeded random
    two-layer CLIP vision encoder with projection and a random adapter for `unet`."""
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=image_size,
        patch_size=8, projection_dim=32))
    return save_adapter(folder, random_adapter(unet, 32, seed + 1, layout), encoder)  # hidden = projection = 32


class NoAcceleration:
    """The accelerator of a pipeline that is never accelerated (training, tests): loading
    the adapter only asks it to run eager, which such a pipeline always does."""

    def to_eager(self) -> None:
        pass


class ImageAdapter:
    """The IP-Adapter state of one loaded pipeline (owned by `fairsplit.runtime.Runtime`):
    loaded for renders that mix works, unloaded for the others (whose pipeline call carries
    no image embeddings). The image encoder is loaded once and kept across unloads."""

    def __init__(self, source: AdapterSource | None):
        self.source = source
        self.loaded = False
        self.encoder = None
        self.processor = None
        self.hidden_states = False  # the loaded adapter reads patches (Full, Plus), not the pooled embedding
        self._blank: torch.Tensor | None = None  # patch formats' unconditional input, encoded once per load

    def use(self, pipe, accelerator, on: bool) -> None:
        if on == self.loaded:
            return
        if not on:
            pipe.unload_ip_adapter()  # the caller restores acceleration
            self.loaded = False
            return
        if self.source is None:
            raise ValueError("this profile has no image adapter, so it cannot render a mix of works")
        accelerator.to_eager()  # fused attention would bypass the adapter's processors
        if self.encoder is not None:
            pipe.register_modules(image_encoder=self.encoder)
        src = self.source
        extra = {"revision": src.revision} if src.revision else {}
        try:
            pipe.load_ip_adapter(src.path, subfolder=src.subfolder, weight_name=src.weight_name,
                                 image_encoder_folder=src.image_encoder_folder, **extra)
        except (OSError, ValueError) as exc:
            raise ValueError(f"the image adapter {src.path[:80]} could not be loaded "
                             f"({type(exc).__name__}: {str(exc)[:120]})") from None
        self.encoder, self.processor = pipe.image_encoder.eval(), pipe.feature_extractor
        self.hidden_states = uses_hidden_states(pipe.unet)
        self._blank = None
        self.loaded = True

    def _encode(self, pixels: torch.Tensor) -> torch.Tensor:
        """What the loaded adapter projects, for a batch of encoder inputs (as diffusers'
        `encode_image`): the pooled embeddings (n, dim), not normalised, or the penultimate
        hidden states (n, patches + 1, width)."""
        pixels = pixels.to(device=self.encoder.device, dtype=self.encoder.dtype)
        if self.hidden_states:
            return self.encoder(pixel_values=pixels, output_hidden_states=True).hidden_states[-2]
        return self.encoder(pixel_values=pixels).image_embeds

    @torch.inference_mode()
    def embed(self, pngs: Sequence[bytes]) -> torch.Tensor:
        """The adapter's input for each work given as PNG bytes (`_encode`), in order."""
        spec = ClipInput.of(self.processor)
        pixels = [from_pil(Image.open(io.BytesIO(png)).convert("RGB")) for png in pngs]
        rows: list[torch.Tensor | None] = [None] * len(pixels)
        for indices in group_by_size(pixels).values():  # one encoder batch per size
            out = self._encode(clip_input(torch.stack([pixels[i] for i in indices]), spec))
            for i, row in zip(indices, out):
                rows[i] = row
        return torch.stack(rows)

    @torch.inference_mode()
    def unconditional(self, like: torch.Tensor) -> torch.Tensor:
        """The unconditional branch's input, shaped like `embed`'s rows `like`: zeros for the
        plain adapter; for the patch formats the hidden states of an all-zero encoder
        input — both as diffusers' `encode_image` makes them (and as the world's adapter
        was trained)."""
        if not self.hidden_states:
            return torch.zeros_like(like)
        if self._blank is None:  # the same for every call: not re-encoded on the render path
            size = self.encoder.config.image_size
            self._blank = self._encode(torch.zeros(1, 3, size, size))
        return self._blank.expand_as(like).to(like.dtype).clone()


def mix_arguments(adapter: ImageAdapter, works: Sequence[Sequence[tuple[bytes, float]]], guidance: bool) -> dict:
    """The pipeline arguments of one call whose i-th image mixes `works[i]` ((PNG, weight)
    pairs). Every image of the call sees the same works — all the call's works, as
    `ip_adapter_image_embeds` (1, k, …), which the pipeline repeats over its batch — and
    its own weights as IP-Adapter masks (batch, k, 1, 1): 0 for a work not in its mix, so
    that work adds exactly nothing. The unconditional half under classifier-free guidance
    gets the unconditional input at the same weights (`ImageAdapter.unconditional`)."""
    unique = list(dict.fromkeys(png for mix in works for png, _ in mix))
    column = {png: k for k, png in enumerate(unique)}
    embeds = adapter.embed(unique)[None]
    masks = torch.zeros(len(works), len(unique), 1, 1)
    for row, mix in enumerate(works):
        for png, weight in mix:
            masks[row, column[png]] += weight  # two artists mixing the same PNG: both weights count
    if guidance:
        embeds, masks = torch.cat([adapter.unconditional(embeds), embeds]), torch.cat([masks, masks])
    return {"ip_adapter_image_embeds": [embeds], "cross_attention_kwargs": {"ip_adapter_masks": [masks]}}
