"""Image mixing (the method paper's ImageMixer): a generation conditioned on artists' works.

An event may name, per artist, one of their works — a registered work (`ARTIST/N`, the
N-th work `artists add` stored, counted from 0) or a PNG — with a weight. The image is
generated from the content text and the mix of works (`fairsplit.adapter`: an IP-Adapter,
each work at its weight); every coalition with the model is rendered from the content
text and *its* works, the model alone from the content text only. Values, the
recognizability test and Shapley are the styles' (`fairsplit.attribute`): an artist's
work is their part of the generation as a phrase is, and their gallery is what the test
compares the renders with. An unregistered artist's gallery is the work itself
(`source: "work"`). A registered artist's work must also be in their style (`work_checks`):
a plain image or another artist's work under their id is not recognised, whatever it did
to the render.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from collections.abc import Sequence

from PIL import Image

from fairsplit.budget import check_png_budget
from fairsplit.request import Gallery, Params, Style, Work

MAX_WEIGHT = 4.0  # a work's weight (IP-Adapter scale) is in (0, MAX_WEIGHT]
MAX_WORK_INDEX = 999_999
_WORK_ID = re.compile(r"([a-z0-9][a-z0-9._-]{0,63})/([0-9]{1,6})")


def parse_work_id(text: str) -> tuple[str, int] | None:
    """(artist id, work index) of a registered work id `ARTIST/N`; None if `text` is not one."""
    match = _WORK_ID.fullmatch(text)
    return (match.group(1), int(match.group(2))) if match else None


def png_ref(png: bytes) -> str:
    """How a work given as a PNG is named in results and pictures: its content hash."""
    return "png:" + hashlib.sha256(png).hexdigest()[:16]


def make_work(artist_id: str, png: bytes, weight: float = 1.0, ref: str | None = None) -> Work:
    """A checked work of `artist_id`: a PNG within the picture limits, a weight in
    (0, MAX_WEIGHT]; one sentence otherwise."""
    if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not math.isfinite(weight) \
            or not 0.0 < weight <= MAX_WEIGHT:
        raise ValueError(f"the weight of {artist_id}'s work must be a number above 0 and at most {MAX_WEIGHT:g}")
    check_png_budget(png, f"the work of {artist_id}")
    try:  # decoded once here, so that a broken PNG is one sentence, not a failed render
        with Image.open(io.BytesIO(png)) as image:
            image.convert("RGB").load()
    except (OSError, SyntaxError, ValueError):
        raise ValueError(f"the work of {artist_id} cannot be read as a PNG") from None
    return Work(png, float(weight), ref or png_ref(png))


def work_embeddings(works: Sequence[Work], models):
    """E(work) of each work, in one embedder call."""
    from fairsplit.render import embed_images

    return embed_images(models, [Image.open(io.BytesIO(work.png)) for work in works])


def work_gallery(work: Work, models) -> Gallery:
    """An unregistered artist's reference: the embedding of the work they mixed."""
    return Gallery(work_embeddings([work], models)[0], 1, models.embedder.id, "work")


def work_checks(styles: Sequence[Style], galleries: Sequence[Gallery], params: Params, models,
                renderer) -> list[tuple[float, float] | None]:
    """Per artist, (the mixed work's margin, the profile's least margin) where the artist
    mixed a work and has a registered gallery (`fairsplit.recognition.work_margin`); None
    otherwise (a phrase or LoRA, an unregistered artist whose gallery *is* the work, or a
    profile without the check)."""
    from fairsplit.gallery import reference_galleries
    from fairsplit.recognition import work_margin

    least = models.spec.least_work_margin
    checked = [least is not None and s.work is not None and g.source == "gallery" for s, g in zip(styles, galleries)]
    if not any(checked):
        return [None] * len(styles)
    references = reference_galleries(renderer, params)
    vectors = iter(work_embeddings([s.work for s, check in zip(styles, checked) if check], models))
    return [(work_margin(next(vectors), g.vector, references), least) if check else None
            for g, check in zip(galleries, checked)]
