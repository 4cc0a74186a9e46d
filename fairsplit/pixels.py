"""Renders as pixels on the device: VAE output → 8-bit image tensor → CLIP's input, with torch ops.

A render never leaves the accelerator on its way to CLIP; PIL images are made only where
a person looks at them (`to_pil`). The torch path reproduces, step by step, what the
pipeline's PIL output and `CLIPImageProcessor` (PIL backend) did before:

1. diffusers' postprocessing: `(x / 2 + 0.5).clamp(0, 1)`, then `(x · 255).round()` to
   8-bit levels (`to_levels`), so a render is the same 8-bit image a platform ships;
2. resize so the shortest edge is the processor's size, bicubic with antialiasing,
   as PIL does on 8-bit images: width pass then height pass, each rounded to 8 bits
   (PIL works in fixed point with 22 fractional bits, torch in float32, so an output
   level can differ by one where a sum falls on a rounding boundary);
3. centre crop, rescale (1/255), normalise with the processor's mean and std.

What is left between the two paths is at most one 8-bit level on a few pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

PIL_BICUBIC = 3  # PILImageResampling.BICUBIC


def _field(size, name: str):
    """A field of a transformers size (a dict in transformers 4, a SizeDict in 5)."""
    return size.get(name) if isinstance(size, dict) else getattr(size, name, None)


@dataclass(frozen=True)
class ClipInput:
    """What CLIP's image processor does to an image, as numbers read from the processor."""

    shortest_edge: int | None  # resize so the shortest edge is this long …
    size: tuple[int, int] | None  # … or to exactly (height, width)
    crop: tuple[int, int] | None  # centre crop (height, width)
    rescale: float | None
    mean: tuple[float, float, float] | None
    std: tuple[float, float, float] | None

    @classmethod
    def of(cls, processor) -> "ClipInput":
        """Read a CLIP image processor's settings; refuse what the torch path does not do."""
        shortest = exact = crop = None
        if processor.do_resize:
            if getattr(processor, "resample", PIL_BICUBIC) != PIL_BICUBIC:
                raise ValueError("the on-device CLIP preprocessing implements bicubic resizing only")
            shortest = _field(processor.size, "shortest_edge")
            if shortest is None:
                height, width = _field(processor.size, "height"), _field(processor.size, "width")
                if not (height and width):
                    raise ValueError(f"unsupported CLIP processor size {processor.size!r}")
                exact = (int(height), int(width))
        if processor.do_center_crop:
            crop = (int(_field(processor.crop_size, "height")), int(_field(processor.crop_size, "width")))
        return cls(
            int(shortest) if shortest else None,
            exact,
            crop,
            float(processor.rescale_factor) if processor.do_rescale else None,
            tuple(float(m) for m in processor.image_mean) if processor.do_normalize else None,
            tuple(float(s) for s in processor.image_std) if processor.do_normalize else None,
        )

    def resized(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) after the resize step (transformers' `get_resize_output_image_size`)."""
        if self.size is not None:
            return self.size
        if self.shortest_edge is None:
            return height, width
        short, long = (width, height) if width <= height else (height, width)
        new_long = int(self.shortest_edge * long / short)
        return (new_long, self.shortest_edge) if width <= height else (self.shortest_edge, new_long)


def to_levels(decoded: torch.Tensor) -> torch.Tensor:
    """VAE output in [-1, 1] → uint8 levels, exactly as diffusers makes its PIL images."""
    return ((decoded / 2 + 0.5).clamp(0, 1).float() * 255).round().to(torch.uint8)


def _round8(x: torch.Tensor) -> torch.Tensor:
    """PIL's rounding of a resampled 8-bit value: half up, clipped to 0..255."""
    return torch.floor(x + 0.5).clamp_(0, 255)


def resize_levels(levels: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Bicubic resize of float 8-bit levels (n, 3, H, W) as PIL resizes an 8-bit image."""
    if levels.shape[-1] != width:
        levels = _round8(F.interpolate(levels, size=(levels.shape[-2], width), mode="bicubic", antialias=True))
    if levels.shape[-2] != height:
        levels = _round8(F.interpolate(levels, size=(height, width), mode="bicubic", antialias=True))
    return levels


def clip_input(pixels: torch.Tensor, spec: ClipInput) -> torch.Tensor:
    """uint8 images (n, 3, H, W) of one size → CLIP's float32 `pixel_values`, on their device."""
    x = pixels.float()
    x = resize_levels(x, *spec.resized(x.shape[-2], x.shape[-1]))
    if spec.crop is not None:
        (height, width), (ch, cw) = x.shape[-2:], spec.crop
        if ch > height or cw > width:
            raise ValueError(f"cannot centre-crop {height}x{width} pixels to {ch}x{cw}")
        top, left = (height - ch) // 2, (width - cw) // 2
        x = x[..., top : top + ch, left : left + cw]
    if spec.rescale is not None:
        x = x * spec.rescale
    if spec.mean is not None:
        mean = torch.tensor(spec.mean, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(spec.std, device=x.device).view(1, -1, 1, 1)
        x = (x - mean) / std
    return x.contiguous()


def from_pil(image: Image.Image) -> torch.Tensor:
    """A PIL image → uint8 (3, H, W), converted to RGB as the embedder always did (alpha dropped)."""
    array = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1)


def to_pil(pixels: torch.Tensor) -> Image.Image:
    """uint8 (3, H, W) on any device → a PIL image (for people: explain, --save-images, galleries)."""
    return Image.fromarray(pixels.permute(1, 2, 0).cpu().numpy())


def group_by_size(pixels: Sequence[torch.Tensor]) -> dict[tuple[int, int], list[int]]:
    """Indices of images that share a (height, width), so each group is one tensor batch."""
    groups: dict[tuple[int, int], list[int]] = {}
    for index, image in enumerate(pixels):
        groups.setdefault(tuple(image.shape[-2:]), []).append(index)
    return groups
