"""Attribution of generated images, read top to bottom like a diffusion pipeline:

    players → coalitions → renders → embeddings → recognition filter → values → Shapley → result

`attribute_many` runs several events together so that their renders share pipeline
batches (what the GPU worker calls); `attribute` is the one-event case.

Rendering happens in (at most) two rounds per call, each one batch across all events:
1. the grand coalition (unless the event carries its image or the image's CLIP
   embedding, see `check_request`), the model alone, every `N∖a` and every `{a}` (the
   two ends the recognizability test compares) and, when the game is small enough to be
   exact, every other coalition with the model as well, on the bet that all artists are
   recognised;
2. whatever the game over the recognised players still needs (nothing in the exact
   case, since its coalitions are a subset of round 1's).
Embeddings are kept per event by coalition, so no coalition is rendered twice. Renders
stay on the device until CLIP has embedded them; PIL images are made only when asked
for (`keep_images`).
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image

from fairsplit.budget import check_png_budget
from fairsplit.gallery import reference_galleries, synthesize_gallery
from fairsplit.pixels import to_pil
from fairsplit.mixing import work_checks, work_gallery
from fairsplit.profile import CORRECTIONS, MODES
from fairsplit.profiles import Models
from fairsplit.recognition import Recognition, gate, gated_shares, recognise
from fairsplit.render import RenderJob, Renderer, adapter_name, embed_images, embed_pixels, embed_texts
from fairsplit.request import AttributionConfig, AttributionRequest, Gallery, Params
from fairsplit.result import AttributionResult, CoalitionValue, Method, Player
from fairsplit.shapley import ShapleyPlan, to_shares
from fairsplit.styles import group_galleries, style_groups
from fairsplit.values import (MODEL_BIT, artist_bits, coalition_prompt, coalition_values, cosine,
                              image_floor)

@dataclass
class _Event:
    """The working state of one event between the steps."""

    request: AttributionRequest
    params: Params
    galleries: list[Gallery]
    embeddings: dict[int, np.ndarray] = field(default_factory=dict)  # model coalitions
    images: dict[int, Image.Image] = field(default_factory=dict)
    anchor: np.ndarray | None = None
    recognitions: list[Recognition] = field(default_factory=list)
    # the game's players, each the tuple of named players it stands for (0 = the model; an
    # artist j is j + 1): one recognised artist, or a group of recognised artists whose
    # galleries are one style (`fairsplit.styles`)
    kept: list[tuple[int, ...]] = field(default_factory=list)
    # bits of the named artists that failed recognition: no longer players, but their words
    # stay in every coalition with the model (the padding rule, docs/attribution.md)
    silent: int = 0
    plan: ShapleyPlan | None = None
    floor: float | None = None  # the image's floor (bias-corrected values)

    @property
    def n_artists(self) -> int:
        return len(self.request.styles)

    @property
    def everyone(self) -> int:
        return (1 << (self.n_artists + 1)) - 1

    def original_mask(self, game_mask: int) -> int:
        """A coalition of the game over `kept` as a coalition over all named artists: a
        coalition with the model also carries the unrecognised artists' words (`silent`),
        as the event's image did, so that padding a prompt with names that do not show
        perturbs every model render the way it perturbed the image."""
        mask = sum(1 << p for i, group in enumerate(self.kept) if game_mask >> i & 1 for p in group)
        return mask | self.silent if mask & MODEL_BIT else mask


def attribute(
    request: AttributionRequest,
    models: Models,
    galleries: Mapping[str, Gallery] | None = None,
    config: AttributionConfig = AttributionConfig(),
    renderer: Renderer | None = None,
    registry: Mapping[str, np.ndarray] | None = None,
) -> AttributionResult:
    """Split one generated image between its model and the artists it names."""
    return attribute_many([request], models, galleries, config, renderer, registry)[0]


def attribute_many(
    requests: Sequence[AttributionRequest],
    models: Models,
    galleries: Mapping[str, Gallery] | None = None,
    config: AttributionConfig = AttributionConfig(),
    renderer: Renderer | None = None,
    registry: Mapping[str, np.ndarray] | None = None,
) -> list[AttributionResult]:
    """Attribute several events, sharing render batches between them.

    `galleries` maps artist ids to stored galleries; an artist without one gets a
    synthesized gallery (labelled as such). `registry` (artist id → gallery vector)
    enables the zero-shot rank test with `config.max_rank`.
    """
    if config.mode not in MODES:
        raise ValueError(f"unknown mode '{config.mode}' (choose one of: {', '.join(MODES)})")
    if config.tau is None:
        config = replace(config, tau=models.spec.tau)
    if config.value_correction is None:
        config = replace(config, value_correction=models.spec.value_correction)
    if config.style_distance is None:
        config = replace(config, style_distance=models.spec.style_distance)
    if config.gate_width is None:
        config = replace(config, gate_width=models.spec.gate_width)
    if not config.gate_width >= 0:
        raise ValueError("gate_width is 0 (the hard test) or positive")
    if config.unrecognised_words not in ("keep", "drop"):
        raise ValueError("unrecognised_words is 'keep' or 'drop'")
    if config.value_correction not in CORRECTIONS:
        raise ValueError(f"unknown value correction '{config.value_correction}' (choose one of: {', '.join(CORRECTIONS)})")
    renderer = renderer or Renderer(models)
    clock = _Clock()
    events = [_start(r, models, renderer, galleries or {}) for r in requests]
    clock.lap("galleries")
    _evaluate(events, models, renderer, config, [_first_round(e, config) for e in events])
    clock.lap("render_round_1")
    for event in events:
        _recognise(event, models, renderer, config, registry)
        event.plan = ShapleyPlan(len(event.kept), config.shapley)
    _evaluate(events, models, renderer, config, [_second_round(e) for e in events])
    clock.lap("render_round_2")
    if config.value_correction == "floor":
        for event in events:
            if len(event.kept) > 1:
                event.floor = image_floor(event.anchor, reference_galleries(renderer, event.params))
    results = [_finish(e, models, config) for e in events]
    clock.lap("shapley")
    for result in results:
        result.timings = clock.per_event(len(events))
    return results


# --- steps ---------------------------------------------------------------------------


def check_request(request: AttributionRequest, models: Models) -> None:
    """Refuse, in one sentence, a request these models cannot attribute (before any render).

    An image embedding supplied by the event stands for the image only in the space it was
    made in: the embedder (id and revision) must be this profile's, and the vector its size.
    """
    if request.image_png is not None:
        check_png_budget(request.image_png, "the event's image")  # its size, before anything decodes it
    given = request.image_embedding
    if given is None:
        return
    ours = models.embedder
    if (given.model_id, given.revision) != (ours.id, ours.revision):
        raise ValueError(
            f"the event's image embedding was made with {given.model_id} (revision {given.revision}), "
            f"but this worker embeds with {ours.id} (revision {ours.revision})"
        )
    size = models.clip.config.projection_dim
    if len(given.vector) != size:
        raise ValueError(f"the event's image embedding has {len(given.vector)} values, {ours.id} makes {size}")
    vector = np.asarray(given.vector, dtype=np.float64)
    if not np.all(np.isfinite(vector)) or not np.any(vector):
        raise ValueError("the event's image embedding must be finite and not all zero")


def _start(request: AttributionRequest, models: Models, renderer: Renderer, stored: Mapping[str, Gallery]) -> _Event:
    """Players and their galleries (stored, or synthesized for unregistered artists)."""
    check_request(request, models)
    params = request.params or models.default_params
    galleries = []
    for style in request.styles:
        gallery = stored.get(style.artist_id) or (
            work_gallery(style.work, models) if style.work and not (style.phrase or style.lora)
            else synthesize_gallery(style, renderer, params))
        if gallery.model_id != models.embedder.id:
            raise ValueError(
                f"gallery of '{style.artist_id}' was embedded with {gallery.model_id}, not {models.embedder.id}"
            )
        galleries.append(gallery)
    return _Event(request, params, galleries)


def _first_round(event: _Event, config: AttributionConfig) -> list[int]:
    """Model coalitions to evaluate before recognition: N, every N∖a, the model alone and
    every {a} (the recognizability test's two ends), and the whole game when it will be
    exact anyway."""
    if event.n_artists == 0:  # the model alone: v(N) = 1 is its whole share, nothing to render
        return []
    n_players = event.n_artists + 1
    if n_players <= config.shapley.max_exact_players:
        return [m for m in range(1, event.everyone + 1) if m & MODEL_BIT]
    artists = [1 << (j + 1) for j in range(event.n_artists)]
    return [event.everyone, MODEL_BIT] + [event.everyone & ~a for a in artists] + [MODEL_BIT | a for a in artists]


def _second_round(event: _Event) -> list[int]:
    """Model coalitions the game over the recognised players still needs (not its grand
    coalition: v(N') = 1 by definition, so it needs no render)."""
    grand = event.original_mask((1 << len(event.kept)) - 1)
    masks = (event.original_mask(m) for m in event.plan.coalitions)
    return [m for m in masks if m & MODEL_BIT and m != grand and m not in event.embeddings]


def _evaluate(events: list[_Event], models: Models, renderer: Renderer, config: AttributionConfig, masks) -> None:
    """Embed the given model coalitions of every event: one render batch for all events
    (generative), or their prompts' text embeddings (text)."""
    todo = [(e, m) for e, ms in zip(events, masks) for m in dict.fromkeys(ms) if m not in e.embeddings]
    given = [(e, m) for e, m in todo if m == e.everyone and _brings_image(e) and config.mode == "generative"]
    for (e, m), vector in zip(given, _event_images(models, [e for e, _ in given])):
        e.embeddings[m] = vector
    todo = [pair for pair in todo if pair not in given]
    if not todo:
        return
    if config.mode == "text":
        vectors = embed_texts(models, [_prompt(e, m) for e, m in todo])
    else:
        pixels = renderer.render_pixels([_job(e, m) for e, m in todo])
        vectors = embed_pixels(models, pixels)
        if config.keep_images:
            for (e, m), image in zip(todo, pixels):
                e.images[m] = to_pil(image)
    for (e, m), vector in zip(todo, vectors):
        e.embeddings[m] = vector


def _brings_image(event: _Event) -> bool:
    return event.request.image_png is not None or event.request.image_embedding is not None


def _event_images(models: Models, events: Sequence[_Event]) -> list[np.ndarray]:
    """E(I_N) of events that bring their image: embedded here (one CLIP batch), or the
    embedding they carry (checked by `check_request`), normalised."""
    pngs = [e for e in events if e.request.image_png is not None]
    embedded = dict(zip(map(id, pngs), embed_images(models, [Image.open(io.BytesIO(e.request.image_png)) for e in pngs])))
    out = []
    for event in events:
        if id(event) in embedded:
            out.append(embedded[id(event)])
        else:
            vector = np.asarray(event.request.image_embedding.vector, dtype=np.float64)
            out.append(vector / np.linalg.norm(vector))
    return out


def _prompt(event: _Event, mask: int) -> str:
    styles = event.request.styles
    return coalition_prompt(event.request.content, [styles[j].phrase for j in artist_bits(mask, len(styles))])


def _job(event: _Event, mask: int) -> RenderJob:
    styles = [event.request.styles[j] for j in artist_bits(mask, event.n_artists)]
    adapters = tuple(sorted((adapter_name(s.artist_id), s.lora) for s in styles if s.lora))
    works = tuple((s.work.png, s.work.weight) for s in styles if s.work)  # image mixing: the coalition's works
    return RenderJob(_prompt(event, mask), event.request.seed, event.params, adapters, works)


def _recognise(event: _Event, models: Models, renderer: Renderer, config: AttributionConfig, registry) -> None:
    """The uplift test per artist at both ends of the order (`recognition.style_uplift`),
    and for a mixed work the work check; the recognised ones stay in the game."""
    if event.n_artists == 0:
        event.kept = [(0,)]
        return
    event.anchor = _anchor(event, models, config)
    works = work_checks(event.request.styles, event.galleries, event.params, models, renderer)
    one = event.n_artists == 1  # both ends are the same pair of images
    event.recognitions = [
        recognise(
            style.artist_id,
            event.anchor,
            event.embeddings[event.everyone & ~(1 << (j + 1))],
            event.galleries[j].vector,
            config.tau,
            registry,
            config.max_rank,
            alone=None if one else event.embeddings[MODEL_BIT | 1 << (j + 1)],
            nobody=None if one else event.embeddings[MODEL_BIT],
            work=works[j],
        )
        for j, style in enumerate(event.request.styles)
    ]
    recognised = [j for j, r in enumerate(event.recognitions) if r.recognised]
    groups = style_groups([event.galleries[j].vector for j in recognised], config.style_distance)
    event.kept = [(0,)] + [tuple(recognised[i] + 1 for i in group) for group in groups]
    if config.unrecognised_words == "keep":
        event.silent = sum(1 << (j + 1) for j, r in enumerate(event.recognitions) if not r.recognised)


def _anchor(event: _Event, models: Models, config: AttributionConfig) -> np.ndarray:
    """E(I_N): the event's image (embedded, or its embedding) or its regeneration; in text
    mode without either, the full prompt's text embedding."""
    if config.mode == "text" and _brings_image(event):
        return _event_images(models, [event])[0]
    return event.embeddings[event.everyone]


def _finish(event: _Event, models: Models, config: AttributionConfig) -> AttributionResult:
    """Values → Shapley → clamped shares → the result object."""
    game_masks = event.plan.coalitions
    originals = [event.original_mask(m) for m in game_masks]
    values = coalition_values(
        originals,
        event.original_mask((1 << len(event.kept)) - 1),
        event.anchor,
        event.embeddings,
        group_galleries([g.vector for g in event.galleries], [[p - 1 for p in group] for group in event.kept[1:]],
                        event.anchor),
        _text_rescale(event, models) if config.mode == "text" and event.n_artists else None,
        event.floor,
    )
    estimate = event.plan.estimate({g: values[o] for g, o in zip(game_masks, originals)})
    shares = to_shares(estimate.values)
    players = _players(event)
    accounts = [p.account for p in players]
    share_of = dict.fromkeys(accounts, 0.0)
    share_of.update(_split_among_members(accounts, event.kept, shares.values))
    gates = [gate(r.uplift, config.tau, config.gate_width) for r in event.recognitions]
    if any(g < 1 and share_of[a] > 0 for a, g in zip(accounts[1:], gates)):  # else the shares stay bit for bit
        share_of.update(zip(accounts, gated_shares([share_of[a] for a in accounts], gates)))
    stderr = _split_among_members(accounts, event.kept, estimate.stderr) if estimate.stderr is not None else None
    if stderr is not None:
        stderr.update({a: stderr[a] * g for a, g in zip(accounts[1:], gates)})
    return AttributionResult(
        event_id=event.request.event_id,
        model_id=event.request.model_id,
        players=players,
        coalitions=[  # named by their players: the silent names are part of the model's render
            CoalitionValue(tuple(accounts[p] for p in range(len(accounts)) if (o & ~event.silent) >> p & 1), values[o])
            for o in sorted(set(originals))
        ],
        shares=share_of,
        clamped=shares.clamped,
        method=Method(
            value_function=config.mode,
            approximation=config.mode == "text",
            estimator=estimate.estimator,
            budget=estimate.budget,
            tau=config.tau,
            profile=models.profile,
            test_model=models.test_model,
            generator=models.generator,
            embedder=models.embedder,
            grand_image=_grand_image(event.request),
            value_correction=config.value_correction,
            test_world=models.world,
            style_distance=config.style_distance,
            gate_width=config.gate_width,
        ),
        floor=event.floor,
        stderr=stderr,
        images=_images(event, accounts, originals),
    )


def _images(event: _Event, accounts: list[str], originals: list[int]) -> dict[str, object]:
    """Coalition renders by label: the game's renders named by their players (a render that
    carries silent names is the coalition's), then the other renders that do not clash."""
    used = {m: _label(accounts, m & ~event.silent) for m in sorted(set(originals)) if m in event.images}
    images = {label: event.images[m] for m, label in used.items()}
    for m, image in sorted(event.images.items()):
        if m not in used:
            images.setdefault(_label(accounts, m), image)
    return images


def _split_among_members(accounts: list[str], kept: list[tuple[int, ...]], values) -> dict[str, float]:
    """A game player's number split equally among the named players it stands for (a group
    of one style: no member can be told apart from another, so none earns more)."""
    return {accounts[p]: float(value) / len(group) for group, value in zip(kept, values) for p in group}


def _grand_image(request: AttributionRequest) -> str:
    if request.image_png is not None:
        return "event"
    return "event-embedding" if request.image_embedding is not None else "regenerated"


def _text_rescale(event: _Event, models: Models) -> tuple[float, float]:
    """Text mode: the raw cosines of prompts to the anchor are mapped so that the empty
    prompt scores 0 and the full prompt 1, the same span as rendered coalitions have."""
    empty = embed_texts(models, [""])[0]
    return cosine(event.anchor, empty), cosine(event.anchor, event.embeddings[event.everyone])


def _players(event: _Event) -> list[Player]:
    model = Player(event.request.model_id, f"model:{event.request.model_id}", "model")
    styles = event.request.styles
    group_of = {p: styles[group[0] - 1].artist_id for group in event.kept if len(group) > 1 for p in group}
    return [model] + [
        Player(r.artist_id, f"artist:{r.artist_id}", "artist", r.recognised, r.uplift, r.rank, g.source,
               group_of.get(j + 1), r.work_margin)
        for j, (r, g) in enumerate(zip(event.recognitions, event.galleries))
    ]


def coalition_label(members: Sequence[str]) -> str:
    """How a coalition is named in results and pictures: its members' ids joined by "+"
    ("sd-1.5+van-gogh")."""
    return "+".join(account.split(":", 1)[1] for account in members)


def event_image_png(result: AttributionResult) -> bytes:
    """The event's image of a result attributed with `keep_images` (the grand coalition's
    render), as the PNG a platform would send with the same event."""
    buffer = io.BytesIO()
    result.images[coalition_label([p.account for p in result.players])].save(buffer, format="PNG")
    return buffer.getvalue()


def _label(accounts: list[str], mask: int) -> str:
    return coalition_label([a for p, a in enumerate(accounts) if mask >> p & 1])


class _Clock:
    """Wall-clock time per step; reported only on request (`to_json(timings=True)`)."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = now - self.last
        self.last = now

    def per_event(self, n: int) -> dict[str, float]:
        return {**{k: v / n for k, v in self.laps.items()}, "total_per_event": (self.last - self.start) / n}
