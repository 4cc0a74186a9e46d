"""What one attribution is given: an event's prompt parts, seed and parameters, and the
artists' stored galleries.

The Kafka worker builds an `AttributionRequest` from a `fairsplit.generation.v1` event
(docs/pipeline.md); the CLI builds one from its options; `AttributionConfig` is how it is
attributed. Light on purpose (numpy, no torch): the services and the ledger writer import
these types without loading models, and a worker imports the model stack on its first event.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fairsplit.shapley import ShapleyConfig


@dataclass(frozen=True)
class Params:
    """Generation parameters; every coalition of an event is rendered with the same ones."""

    steps: int = 25
    guidance: float = 7.5
    width: int = 512
    height: int = 512


@dataclass(frozen=True)
class Work:
    """One of an artist's works the image was conditioned on (image mixing): its PNG, its
    weight (the IP-Adapter scale of this work) and how the event named it (`ref`: a
    registered work id `ARTIST/N`, or `png:` and the first 16 hex digits of its sha256)."""

    png: bytes = field(repr=False)
    weight: float = 1.0
    ref: str = ""


@dataclass(frozen=True)
class Style:
    """One artist's part of a generation: a phrase, a LoRA adapter (path or id), a work
    to mix (`fairsplit.mixing`), or several of these."""

    artist_id: str
    phrase: str = ""
    lora: str | None = None
    work: Work | None = None


@dataclass(frozen=True)
class ImageEmbedding:
    """The CLIP image embedding of the event's image, as the platform computed it, and the
    embedder (id, revision) it was made with: usable only with that very embedder."""

    vector: tuple[float, ...]
    model_id: str
    revision: str


@dataclass(frozen=True)
class AttributionRequest:
    """One generated image to split. `params=None` takes the profile's defaults.

    The grand coalition is the event's image (`image_png`), else its embedding
    (`image_embedding`), else regenerated."""

    model_id: str
    content: str
    styles: tuple[Style, ...]
    seed: int = 0
    params: Params | None = None
    image_png: bytes | None = None
    event_id: str | None = None
    image_embedding: ImageEmbedding | None = None

    def __post_init__(self) -> None:
        ids = [s.artist_id for s in self.styles]
        if len(set(ids)) != len(ids):
            raise ValueError("each artist may appear only once in a request")
        if any(not s.phrase and not s.lora and s.work is None for s in self.styles):
            raise ValueError("a style needs a phrase, a LoRA adapter, a work, or several of these")


@dataclass(frozen=True, eq=False)
class Gallery:
    """Unit-norm mean embedding of `count` works, in the space of embedder `model_id`.

    `source` is "gallery" for real reference works, "synthesized" for the fallback.
    """

    vector: np.ndarray
    count: int
    model_id: str
    source: str = "gallery"


@dataclass(frozen=True)
class AttributionConfig:
    """How requests are attributed (the CLI's options, the worker's settings); each None
    means the profile's own value (`fairsplit.profile.Profile`)."""

    mode: str = "generative"
    tau: float | None = None  # None: the profile's (`Profile.tau`)
    shapley: ShapleyConfig = ShapleyConfig()
    max_rank: int | None = None  # zero-shot rank test, off by default
    keep_images: bool = False  # attach coalition renders to the result (CLI --save-images)
    value_correction: str | None = None  # "floor" or "none" (the paper's); None: the profile's default
    # galleries closer than this (cosine distance) are one group player; None: the profile's
    # (`Profile.style_distance`); 0 turns grouping off
    style_distance: float | None = None
    # the words of unrecognised names: "keep" them in every coalition with the model (the
    # padding rule), or "drop" them. "drop" stays the default: on held-out world cases the
    # padding rule did not bring padded shares closer (docs/attribution.md, bench/fidelity.py)
    unrecognised_words: str = "drop"
    # the soft recognizability gate's width (`recognition.gate`); None: the profile's
    # (`Profile.gate_width`, 0 everywhere: the hard in/out test, docs/attribution.md says why)
    gate_width: float | None = None
