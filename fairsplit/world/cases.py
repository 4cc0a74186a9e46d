"""Labelled attribution cases on the test world, for calibration, tests and bench/fidelity.py.

A case is a (content, artists, seed) prompt. Known artists' styles are visible in its
render (the model learnt them); unknown artists' are not (their names never occurred in
training). Galleries are the artists' procedural works (`fairsplit.world.works`), as a
user would register them after `fairsplit world gallery`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from fairsplit import world
from fairsplit.calibration import Calibration, choose_tau
from fairsplit.request import AttributionRequest, Gallery, Style

GALLERY_WORKS = 12
MODEL_ID = "world-sd"


@dataclass(frozen=True)
class Case:
    content: str
    artists: tuple[str, ...]
    seed: int

    def request(self, aliases: dict[str, str] | None = None) -> AttributionRequest:
        """The attribution request of this case; `aliases` maps extra artist ids to the
        artist whose name they use in the prompt (a second id for the same style)."""
        styles = [Style(a, world.phrase((aliases or {}).get(a, a))) for a in self.artists]
        return AttributionRequest(MODEL_ID, world.content_prompt(self.content), tuple(styles), self.seed)


def gallery_images(artist: str, count: int = GALLERY_WORKS, seed: int = 0) -> list[Image.Image]:
    return [Image.fromarray(work) for work in world.works(artist, count, seed)]


def world_galleries(models, count: int = GALLERY_WORKS) -> dict[str, Gallery]:
    """Every world artist's gallery, embedded with `models` (the world profile)."""
    from fairsplit.gallery import embed_gallery

    return {artist: embed_gallery(gallery_images(artist, count), models) for artist in world.ARTISTS}


def labelled_cases(count: int, seed: int = 0) -> list[Case]:
    """`count` cases, each naming one known and one unknown artist in random order, or
    one of either alone: every case has at least one label of each kind over the set."""
    rng = np.random.default_rng(seed)
    known, unknown = list(world.KNOWN), list(world.UNKNOWN)
    cases = []
    for k in range(count):
        content = world.CONTENTS[int(rng.integers(len(world.CONTENTS)))]
        kind = k % 3
        artists = [known[int(rng.integers(len(known)))]] if kind != 1 else []
        if kind != 2:
            artists.append(unknown[int(rng.integers(len(unknown)))])
        rng.shuffle(artists)
        cases.append(Case(content, tuple(artists), int(rng.integers(2**31))))
    return cases


def uplifts(models, cases: Sequence[Case], galleries: dict[str, Gallery], renderer=None) -> list[tuple[float, bool]]:
    """(style uplift, visible) of every named artist of every case."""
    from fairsplit.attribute import AttributionConfig, attribute_many
    from fairsplit.render import Renderer

    config = AttributionConfig(tau=-1.0, value_correction="none")
    results = attribute_many([c.request() for c in cases], models, galleries, config, renderer or Renderer(models))
    return [(p.uplift, p.id in world.KNOWN) for r in results for p in r.players if p.kind == "artist"]


def truth_uplifts(models, galleries: dict[str, Gallery], content: str, artists: Sequence[str],
                  seed: int) -> dict[str, float]:
    """Each artist's style uplift (`fairsplit.recognition.style_uplift`, both ends) in the
    world's own drawing of the prompt (`world.render`: no generator, no adapter), against
    their registered gallery.

    Why: it is what a generator that drew the world's truth would give the recognizability
    test, so it bounds what any render of the same prompt can reach — the reference the
    mixing and named-pair figures are read against. An unknown artist's uplift is 0 (the
    truth ignores their name)."""
    from fairsplit.recognition import style_uplift
    from fairsplit.render import embed_images

    def drawn(names) -> Image.Image:
        return Image.fromarray(world.render(content, list(names), seed))

    everyone, nobody = embed_images(models, [drawn(artists), drawn(())])
    uplifts = {}
    for artist in artists:
        without, alone = embed_images(models, [drawn([a for a in artists if a != artist]), drawn([artist])])
        uplifts[artist] = round(style_uplift(everyone, without, galleries[artist].vector, alone, nobody), 9)
    return uplifts


def calibrate(models, count: int = 60, seed: int = 0, renderer=None) -> Calibration:
    """τ for the world profile, by ROC over `count` labelled cases."""
    labelled = uplifts(models, labelled_cases(count, seed), world_galleries(models), renderer)
    return choose_tau([u for u, _ in labelled], [v for _, v in labelled])


STYLE_SEEDS = (1, 2, 3, 4)  # other works of each artist, for the style distance (9000+ are held out)
STYLE_SIZES = (4, 12)  # gallery sizes: a shell company may register only a few works


def style_pairs(models, seeds=STYLE_SEEDS, sizes=STYLE_SIZES) -> tuple[list[float], list[float]]:
    """(distances between an artist's registered gallery and galleries of their other works;
    distances between different artists' galleries), over the world's artists."""
    from fairsplit.gallery import embed_gallery
    from fairsplit.styles import style_distance

    registered = {a: g.vector for a, g in world_galleries(models).items()}
    other = {(a, s, n): embed_gallery(gallery_images(a, n, s), models).vector
             for a in world.ARTISTS for s in seeds for n in sizes}
    same = [style_distance(registered[a], v) for (a, _, _), v in other.items()]
    distinct = [style_distance(registered[a], v) for (b, _, _), v in other.items() for a in registered if a != b]
    names = list(registered)
    distinct += [style_distance(registered[a], registered[b]) for i, a in enumerate(names) for b in names[i + 1:]]
    return same, distinct


def calibrate_style_distance(models, seeds=STYLE_SEEDS) -> Calibration:
    """The style distance for the world profile, by ROC (`fairsplit.styles.choose_distance`)."""
    from fairsplit.styles import choose_distance

    same, distinct = style_pairs(models, seeds)
    return choose_distance(same, distinct)


PLAIN_SEEDS = range(100, 148)  # plain drawings for the work margin (the bench draws 5000+)


def work_margins(models, seeds=STYLE_SEEDS) -> tuple[list[float], list[float]]:
    """(margins of the artists' other works against their own registered galleries; margins
    of plain drawings against every artist's gallery) — `fairsplit.recognition.work_margin`."""
    from fairsplit.gallery import reference_galleries
    from fairsplit.recognition import work_margin
    from fairsplit.render import Renderer, embed_images

    galleries = world_galleries(models)
    references = reference_galleries(Renderer(models), models.default_params)
    own = [work_margin(v, galleries[a].vector, references)
           for a in world.ARTISTS for s in seeds for v in embed_images(models, gallery_images(a, 4, s))]
    plain = [Image.fromarray(world.draw(world.CONTENTS[s % len(world.CONTENTS)], world.PLAIN, s)) for s in PLAIN_SEEDS]
    plains = [work_margin(v, g.vector, references) for v in embed_images(models, plain) for g in galleries.values()]
    return own, plains


def calibrate_work_margin(models, seeds=STYLE_SEEDS) -> Calibration:
    """The least work margin for the world profile, by ROC: the artists' own works are the
    positives, plain drawings under any artist's id the negatives."""
    own, plain = work_margins(models, seeds)
    return choose_tau(own + plain, [True] * len(own) + [False] * len(plain))
