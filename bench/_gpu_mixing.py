"""The image-mixing row of bench/gpu_attribution.py: events that mix one work per artist
(an IP-Adapter, loaded with diffusers' `load_ip_adapter` like sd15's `h94/IP-Adapter`).

Random weights shaped like the real thing: SD 1.5's IP-Adapter (4 tokens, a key/value
pair per cross-attention layer) and its image encoder (OpenCLIP ViT-H/14 vision tower,
1024-d projection, 224 px); `--tiny` a small one. Renders that mix works run on the eager
UNet (fused attention would bypass the adapter's processors), so the row prices that too.
"""

from __future__ import annotations

import io
from pathlib import Path

VIT_H14_VISION = dict(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=16,
                      image_size=224, patch_size=14, projection_dim=1024, hidden_act="gelu")
TINY_VISION = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=32,
                   patch_size=8, projection_dim=32)
WORK_SIDE = 512  # the works platforms send: 512 px PNGs


def adapter_source(unet, tiny: bool, folder: Path):
    """A random IP-Adapter for `unet` and its image encoder, saved where `load_ip_adapter` reads it."""
    import torch
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    from fairsplit.adapter import random_adapter, save_adapter

    torch.manual_seed(0)
    encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(**(TINY_VISION if tiny else VIT_H14_VISION)))
    return save_adapter(Path(folder), random_adapter(unet, encoder.config.projection_dim, 0), encoder)


def _work(seed: int, side: int) -> bytes:
    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def mixed_requests(n_events: int, n_artists: int, params, offset: int, artists, contents, tiny: bool):
    """Events that mix one work of each of the first `n_artists` artists (no phrases)."""
    from fairsplit.mixing import make_work
    from fairsplit.request import AttributionRequest, Style

    side = 32 if tiny else WORK_SIDE
    return [
        AttributionRequest("sd-1.5", contents[i % len(contents)],
                           tuple(Style(a, work=make_work(a, _work(offset + i + 7919 * k, side)))
                                 for k, a in enumerate(artists[:n_artists])),
                           seed=offset + i, params=params, event_id=f"bench-mix-{offset + i}")
        for i in range(n_events)
    ]
