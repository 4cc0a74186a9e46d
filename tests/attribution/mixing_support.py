"""Works to mix in tests: flat colours of their own with a little noise (the tiny profile's
random image encoder tells colours apart, not noise patterns)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def flat_png(seed: int, size: int = 32) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = np.clip(rng.integers(0, 256, 3) + rng.normal(0, 8, (size, size, 3)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()
