"""How much work one event may ask for, and how many pixels any image may decode to.

An attribution renders one image per coalition it evaluates, each `steps` denoising steps
of `width × height` pixels, so its cost grows as

    work = width × height × steps × coalition renders

and one event could ask for hours of GPU (a 2048×2048, 200-step event) or, through a
tiny compressed PNG of a huge canvas, gigabytes of memory. Both are bounded here, in
one place, and checked before any of that work starts:

- `MAX_EVENT_WORK` (default 512 × 512 × 50 × 32 ≈ 4.2·10⁸: a 512×512, 50-step image
  with up to 5 artists, i.e. 32 coalition renders; fewer steps or pixels leave room for
  more artists). `check_event_budget` refuses more at admission.
- `MAX_IMAGE_PIXELS` (default 4096 × 4096 ≈ 16.8 M pixels, about 50 MB as RGB) for every
  picture decoded: an event's PNG and every gallery work. `check_png_budget` reads a
  PNG's size from its header (no decoding); `open_image` opens any picture lazily and
  refuses it before its pixels are decoded.

Every refusal is `BudgetError`, a `ValueError` whose message is one sentence.
"""

from __future__ import annotations

import struct
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: the limits are read by the settings of every command
    from PIL import Image

MAX_EVENT_WORK = 512 * 512 * 50 * 32
MAX_IMAGE_PIXELS = 4096 * 4096

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class BudgetError(ValueError):
    """The work or the picture is larger than this worker accepts; one sentence."""


def coalition_renders(artists: int) -> int:
    """An upper bound on the renders one event needs: every coalition with the model
    (2^artists) when the game is solved exactly, else the sampling budget (and the two
    coalitions every estimate takes, the grand one and the model alone)."""
    from fairsplit.shapley import DEFAULT_BUDGET, DEFAULT_MAX_EXACT_PLAYERS

    if artists + 1 <= DEFAULT_MAX_EXACT_PLAYERS:
        return 2 ** artists
    return DEFAULT_BUDGET + 2


def event_work(width: int, height: int, steps: int, artists: int) -> int:
    return width * height * steps * coalition_renders(artists)


def check_event_budget(width: int, height: int, steps: int, artists: int, limit: int = MAX_EVENT_WORK) -> int:
    """The event's work (pixels × steps × coalition renders), or BudgetError past `limit`."""
    work = event_work(width, height, steps, artists)
    if work > limit:
        raise BudgetError(
            f"the event asks for {width}×{height} pixels × {steps} steps × {coalition_renders(artists)} coalition "
            f"renders = {work:,} units of work, more than this worker's budget of {limit:,} per event.")
    return work


def _check_pixels(width: int, height: int, what: str, limit: int) -> tuple[int, int]:
    if width * height > limit:
        raise BudgetError(f"{what} is {width}×{height} pixels, more than the {limit:,} pixels a picture may have here.")
    return width, height


def check_png_budget(png: bytes, what: str = "the image", limit: int = MAX_IMAGE_PIXELS) -> tuple[int, int]:
    """(width, height) of a PNG, read from its IHDR header without decoding anything;
    BudgetError when it is not a PNG or decodes to more than `limit` pixels."""
    if len(png) < 33 or not png.startswith(_PNG_MAGIC) or png[12:16] != b"IHDR":
        raise BudgetError(f"{what} is not a PNG (no IHDR header).")
    width, height = struct.unpack(">II", png[16:24])
    if not width or not height:
        raise BudgetError(f"{what} has no pixels (a {width}×{height} PNG).")
    return _check_pixels(width, height, what, limit)


def open_image(source: str | Path, limit: int = MAX_IMAGE_PIXELS) -> Image.Image:
    """A picture opened lazily (its pixels are not decoded yet) and checked to decode to at
    most `limit` pixels; BudgetError otherwise, with PIL's own bomb check made one sentence."""
    from PIL import Image

    what = f"image {Path(source).name}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(source)
    except Image.DecompressionBombError:
        raise BudgetError(f"{what} decodes to more than the {limit:,} pixels a picture may have here.") from None
    except (OSError, SyntaxError) as exc:  # PIL's "cannot identify image file", truncated headers
        raise BudgetError(f"{what} cannot be read as a picture ({type(exc).__name__}).") from None
    try:
        _check_pixels(*image.size, what, limit)
    except BudgetError:
        image.close()
        raise
    return image
