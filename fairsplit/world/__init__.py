"""The test world: a procedural data set whose ground truth is known.

Every image is 32×32 RGB, drawn by pure functions of a seed:

- a *content* (a shape: circle, square, triangle, stripes, cross, ring), placed with a
  little jitter;
- drawn either *plain* (black on white, centred, flat) or in an *artist's style*: a
  palette (background and foreground colours), a texture (dots, hatching, checks, waves,
  grain, a frame, lines) and a composition (size and placement of the shape).

`KNOWN` artists are the ones the world's generator and CLIP were trained on (their names
occur in training prompts); `UNKNOWN` artists have styles and reference works of their
own but their names never occur in training: naming them must not change a render, and
they are the new artists of the DreamBooth analogue. The generator and CLIP are trained
by `fairsplit.world.train`; the `world` profile loads them (`fairsplit.profiles`).
Pure numpy; deterministic given the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIZE = 32
CONTENTS = ("circle", "square", "triangle", "stripes", "cross", "ring")
TEXTURES = ("flat", "dots", "hatch", "checks", "waves", "grain", "frame", "lines")


@dataclass(frozen=True)
class Style:
    """How an artist draws: colours (0–255 RGB), a texture, and the shape's size and offset."""

    background: tuple[int, int, int]
    foreground: tuple[int, int, int]
    texture: str
    scale: float  # radius of the shape as a fraction of the image
    offset: tuple[float, float]  # centre offset (x, y) as a fraction of the image


PLAIN = Style((255, 255, 255), (0, 0, 0), "flat", 0.32, (0.0, 0.0))

KNOWN: dict[str, Style] = {
    "aster": Style((20, 30, 120), (250, 220, 40), "dots", 0.30, (0.0, 0.0)),
    "bramble": Style((20, 90, 40), (240, 110, 150), "hatch", 0.34, (0.0, 0.0)),
    "cobalt": Style((240, 140, 30), (20, 40, 160), "checks", 0.26, (0.12, -0.12)),
    "dune": Style((230, 200, 140), (120, 70, 30), "waves", 0.22, (-0.15, 0.12)),
    "ember": Style((15, 10, 10), (250, 80, 20), "grain", 0.38, (0.0, 0.0)),
    "fjord": Style((20, 130, 140), (245, 245, 245), "frame", 0.28, (0.0, 0.05)),
}
UNKNOWN: dict[str, Style] = {
    "glacier": Style((200, 240, 250), (110, 40, 150), "lines", 0.30, (0.0, 0.0)),
    "heron": Style((120, 120, 120), (60, 200, 60), "dots", 0.26, (0.1, 0.1)),
    "iris": Style((200, 180, 240), (140, 20, 40), "frame", 0.34, (-0.05, 0.0)),
}
ARTISTS: dict[str, Style] = {**KNOWN, **UNKNOWN}


def phrase(artist: str) -> str:
    """The style phrase that names an artist in a prompt."""
    return f"by {artist}"


def content_prompt(content: str) -> str:
    return f"a {content}"


def prompt(content: str, artists: tuple[str, ...] | list[str] = ()) -> str:
    """The world's prompt format, the same as `fairsplit.values.coalition_prompt`."""
    return ", ".join([content_prompt(content), *(phrase(a) for a in artists)])


def describe() -> dict:
    """What the world holds (the `world describe` command prints it)."""
    return {
        "size": SIZE,
        "contents": list(CONTENTS),
        "known_artists": list(KNOWN),
        "unknown_artists": list(UNKNOWN),
        "prompt_format": prompt("<content>", ["<artist>"]),
    }


def _grid() -> tuple[np.ndarray, np.ndarray]:
    c = (np.arange(SIZE) + 0.5) / SIZE - 0.5
    return np.meshgrid(c, c, indexing="xy")


def shape_mask(content: str, scale: float, centre: tuple[float, float], angle: float) -> np.ndarray:
    """A soft (0–1) mask of `content` with radius `scale` around `centre` (fractions of the image)."""
    x, y = _grid()
    x, y = x - centre[0], y - centre[1]
    soft = 1.5 / SIZE
    if content == "circle":
        d = np.hypot(x, y) - scale
    elif content == "ring":
        d = np.abs(np.hypot(x, y) - scale * 0.8) - scale * 0.25
    elif content == "square":
        cx, cy = np.cos(angle) * x + np.sin(angle) * y, -np.sin(angle) * x + np.cos(angle) * y
        d = np.maximum(np.abs(cx), np.abs(cy)) - scale * 0.85
    elif content == "triangle":
        d = np.max([
            np.cos(a) * x + np.sin(a) * y for a in (np.pi / 2 + angle + k * 2 * np.pi / 3 for k in range(3))
        ], axis=0) - scale * 0.5
    elif content == "cross":
        d = np.minimum(np.maximum(np.abs(x) - scale * 0.3, np.abs(y) - scale),
                       np.maximum(np.abs(y) - scale * 0.3, np.abs(x) - scale))
    elif content == "stripes":
        band = np.abs(((y + angle * 0.05) * 4 / (2 * scale)) % 1.0 - 0.5) - 0.25
        d = np.maximum(band * (2 * scale) / 4, np.maximum(np.abs(x), np.abs(y)) - scale * 1.1)
    else:
        raise ValueError(f"unknown content {content!r}")
    return np.clip(0.5 - d / soft, 0.0, 1.0)


def _texture(name: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(where the texture shows, in 0–1; how strongly it shifts colour towards the other
    colour of the palette, 0–1) for one image."""
    x, y = _grid()
    phase = rng.uniform(0, 1)
    one = np.ones((SIZE, SIZE))
    if name == "flat":
        return 0 * one, 0.0 * one
    if name == "dots":
        u, v = (x * 8 + phase) % 1 - 0.5, (y * 8 + phase) % 1 - 0.5
        return (np.hypot(u, v) < 0.22).astype(float), 0.9 * one
    if name == "hatch":
        return (((x + y) * 10 + phase) % 1 < 0.4).astype(float), 0.55 * one
    if name == "checks":
        return (((np.floor(x * 6 + phase) + np.floor(y * 6 + phase)) % 2) == 0).astype(float), 0.35 * one
    if name == "waves":
        return (np.sin((y + 0.05 * np.sin(x * 12 + phase * 6)) * 40) > 0.3).astype(float), 0.4 * one
    if name == "grain":
        return rng.uniform(0, 1, (SIZE, SIZE)), 0.5 * one
    if name == "frame":
        edge = np.maximum(np.abs(x), np.abs(y)) > 0.40
        return edge.astype(float), 1.0 * one
    if name == "lines":
        return ((x * 7 + phase) % 1 < 0.3).astype(float), 0.6 * one
    raise ValueError(f"unknown texture {name!r}")


def draw(content: str, style: Style, seed: int) -> np.ndarray:
    """One image (uint8, SIZE×SIZE×3) of `content` in `style`, from `seed`."""
    rng = np.random.default_rng(seed)
    jitter = rng.normal(0, 0.03, 2)
    centre = (style.offset[0] + jitter[0], style.offset[1] + jitter[1])
    scale = style.scale * rng.uniform(0.9, 1.1)
    angle = rng.uniform(-0.3, 0.3)
    colour_jitter = rng.normal(0, 8, (2, 3))
    bg = np.clip(np.asarray(style.background, float) + colour_jitter[0], 0, 255)
    fg = np.clip(np.asarray(style.foreground, float) + colour_jitter[1], 0, 255)
    mask = shape_mask(content, scale, centre, angle)[..., None]
    where, strength = _texture(style.texture, rng)
    tex = (where * strength)[..., None]
    # the texture pulls the background towards the foreground colour, and the shape
    # towards the background colour (halved inside the shape, so the shape stays legible)
    back = bg * (1 - tex) + fg * tex
    front = fg * (1 - tex * 0.5) + bg * tex * 0.5
    image = back * (1 - mask) + front * mask
    image += rng.normal(0, 3, image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def style_of(artist: str) -> Style:
    if artist not in ARTISTS:
        raise ValueError(f"unknown artist {artist!r} (the world's artists: {', '.join(ARTISTS)})")
    return ARTISTS[artist]


def render(content: str, artists: tuple[str, ...] | list[str], seed: int) -> np.ndarray:
    """The ground truth of a prompt: plain when no known artist is named, an artist's
    style for one, the mean of their styles for several. Unknown artists' names change
    nothing (the model never learnt them)."""
    styles = [KNOWN[a] for a in artists if a in KNOWN]
    if not styles:
        return draw(content, PLAIN, seed)
    images = [draw(content, s, seed * 7919 + k).astype(float) for k, s in enumerate(styles)]
    return np.clip(np.rint(np.mean(images, axis=0)), 0, 255).astype(np.uint8)


def works(artist: str, count: int, seed: int = 0) -> list[np.ndarray]:
    """`count` reference works of an artist: their style over the world's contents."""
    style = style_of(artist)
    rng = np.random.default_rng([seed, sum(map(ord, artist))])
    return [draw(CONTENTS[int(rng.integers(len(CONTENTS)))], style, int(rng.integers(2**31))) for _ in range(count)]
