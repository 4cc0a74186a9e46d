"""Where models come from: hub ids or local paths, revisions, the device and the cache.

Passed explicitly into `fairsplit.profiles.load_profile` (diffusers' habit: model
sources are arguments, never read from the environment deep inside); the CLI's
settings reader builds it from `FAIRSPLIT_*` variables and options.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_GENERATOR = "stable-diffusion-v1-5/stable-diffusion-v1-5"
DEFAULT_CLIP = "openai/clip-vit-large-patch14"
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
