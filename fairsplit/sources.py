"""Where models come from (hub ids or local paths, revisions, the device, the cache) and
how renders run on them (`Acceleration`).

Passed explicitly into `fairsplit.profiles.load_profile` (diffusers' habit: model
sources are arguments, never read from the environment deep inside); the CLI's
settings reader builds both from `FAIRSPLIT_*` variables and options. Light on purpose:
no torch import, so the CLI starts fast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

DEFAULT_GENERATOR = "stable-diffusion-v1-5/stable-diffusion-v1-5"
DEFAULT_CLIP = "openai/clip-vit-large-patch14"
DEFAULT_IP_ADAPTER = "h94/IP-Adapter"
DEFAULT_IP_ADAPTER_WEIGHT = "ip-adapter_sd15.safetensors"  # the plain format; "ip-adapter-plus_sd15…" reads patches
DEFAULT_CACHE = Path.home() / ".cache" / "fairsplit" / "models"


@dataclass(frozen=True)
class ModelSources:
    """The models a profile loads and where it runs them (hashable: profiles are cached by it)."""

    generator: str = DEFAULT_GENERATOR
    generator_revision: str = "main"
    clip: str = DEFAULT_CLIP
    clip_revision: str = "main"
    device: str | None = None  # None: cuda, then mps, then cpu
    cache_dir: Path = field(default=DEFAULT_CACHE)  # where the tiny test models are built once
    world_model: Path | None = None  # the test world's folder (None: the one committed in fairsplit/world/model)
    # sd15's IP-Adapter for image mixing (diffusers `load_ip_adapter`; its image encoder in `<subfolder>/image_encoder`)
    ip_adapter: str = DEFAULT_IP_ADAPTER
    ip_adapter_subfolder: str = "models"
    ip_adapter_weight: str = DEFAULT_IP_ADAPTER_WEIGHT
    ip_adapter_revision: str | None = None


DEFAULT_BUCKETS = (1, 2, 4, 8, 16, 32, 64)
CALL_COST_IMAGES = 9.0  # one pipeline call costs ~9 images' time on top of its images (eager SD1.5 UNet, H100)


@dataclass(frozen=True)
class Acceleration:
    """Render options. `None` fields take the device's default (on for CUDA, off elsewhere)."""

    compile: bool | None = None  # torch.compile the UNet (static shapes, one graph per bucket)
    cuda_graphs: bool = False  # compile mode "reduce-overhead": pays at small buckets, costs memory
    fuse_qkv: bool | None = None  # fused QKV projections (UNet and VAE)
    channels_last: bool | None = None  # channels_last UNet and VAE (faster convolutions on GPUs)
    memory_ceiling_gib: float = 16.0  # peak accelerator memory the renders may reach
    enforce_ceiling: bool = True  # cap this process's CUDA allocator at the ceiling
    buckets: tuple[int, ...] = DEFAULT_BUCKETS
    decode_batch: int = 8  # images per VAE decode (the decoder's activations are large)
    call_cost_images: float = CALL_COST_IMAGES
    compile_cache: Path | None = None  # folder for the persisted compile cache; None: not persisted

    def __post_init__(self) -> None:
        if not self.buckets or any(b < 1 for b in self.buckets) or list(self.buckets) != sorted(set(self.buckets)):
            raise ValueError("batch buckets must be distinct positive sizes in increasing order")
        if not math.isfinite(self.memory_ceiling_gib) or self.memory_ceiling_gib <= 0:
            raise ValueError("the memory ceiling must be a positive number of GiB")
        if self.decode_batch < 1:
            raise ValueError("the VAE decode batch must be at least 1")

    def resolved(self, device: torch.device) -> "Acceleration":
        """These options with every `None` replaced by the device's default."""
        on = device.type == "cuda"
        return replace(
            self,
            compile=on if self.compile is None else self.compile,
            fuse_qkv=on if self.fuse_qkv is None else self.fuse_qkv,
            channels_last=on if self.channels_last is None else self.channels_last,
        )
