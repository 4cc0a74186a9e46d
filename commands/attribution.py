"""`fairsplit attribute` (split one image, record nothing) and `fairsplit explain` (draw why
a recorded event was split as it was)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import typer

from commands.common import (err, fail, out, read_input, ready_engine, say, settings_of, table, user_errors,
                             write_new_file)
from commands.options import AS_JSON, setting
from commands.progress import Activity
from commands.report import done
from ledger.ids import is_event_id
from services.routes import parse_routes

app = typer.Typer()


def _pairs(values: list[str], option: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip() or not rest.strip():
            fail(f"{option} must look like ARTIST_ID=VALUE, got {value!r}.")
        pairs.append((key.strip(), rest.strip()))
    return pairs


def _registered_galleries(database_url: str, artist_ids: list[str], embedder_id: str) -> dict:
    """Stored galleries of registered artists embedded with `embedder_id`, when the database
    is initialised; nothing otherwise (the stateless CLI then embeds or synthesises)."""
    from sqlalchemy.exc import SQLAlchemyError

    from ledger.books.db import check_ready, make_engine
    from ledger.errors import LedgerError
    from services.lookups import RegistryLookups

    try:
        engine = make_engine(database_url)
        check_ready(engine)
        stored = RegistryLookups(engine).galleries(artist_ids)
    except (LedgerError, SQLAlchemyError):
        return {}
    return {artist: gallery for artist, gallery in stored.items() if gallery.model_id == embedder_id}


def _registered_work(database_url: str, artist: str, work_id: str) -> bytes:
    """The PNG of a registered work `ARTIST/N` of `artist` (one sentence when there is none)."""
    from sqlalchemy.exc import SQLAlchemyError

    from fairsplit.mixing import parse_work_id
    from ledger.books.db import check_ready, make_engine
    from ledger.errors import LedgerError
    from services.lookups import RegistryLookups
    from services.stream import TransientError

    owner, index = parse_work_id(work_id)
    if owner != artist:
        fail(f"--mix {artist}={work_id} names a work of {owner!r}; an artist mixes only their own works.")
    try:
        engine = make_engine(database_url)
        check_ready(engine)
        png = RegistryLookups(engine).work(owner, index)
    except (LedgerError, SQLAlchemyError, TransientError):
        fail(f"work {work_id} is a registered work id, but the ledger database cannot be read; "
             "give the work as a PNG file instead.")
    if png is None:
        fail(f"{artist!r} has no registered work {index} (works are numbered from 0 as `artists add` stored them).")
    return png


_PLAIN_DECIMAL = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,6})?")  # ASCII only: no 1e3, 1_0, ١ or inf


def _reads_as_number(text: str) -> bool:
    """Whether Python would take `text` for a number (so it is a weight badly written, not a name)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _mixes(values: list[str], database_url: str) -> dict:
    """--mix ARTIST=IMAGE[@WEIGHT] → artist → checked `Work` (IMAGE: a PNG file or a registered
    work id ARTIST/N; a path that looks like a work id is written ./ARTIST/N)."""
    from fairsplit.mixing import make_work, parse_work_id, png_ref

    works = {}
    for artist, value in _pairs(values, "--mix"):
        image, sep, tail = value.rpartition("@")
        weight = 1.0
        if sep and image and _PLAIN_DECIMAL.fullmatch(tail):
            weight = float(tail)
        elif sep and image and _reads_as_number(tail):
            fail(f"the weight of {artist}'s work must be a plain decimal such as 0.5, got {tail!r}.")
        else:
            image = value  # no weight, or an "@" that is part of the file name
        if artist in works:
            fail(f"artist {artist!r} has two --mix; an artist mixes one work.")
        if parse_work_id(image):
            png, ref = _registered_work(database_url, artist, image), image
        else:
            png = read_input(image, "work", 8 << 20)
            ref = png_ref(png)
        try:
            works[artist] = make_work(artist, png, weight, ref)
        except ValueError as exc:
            fail(str(exc).rstrip(".") + ".")
    return works


@app.command("attribute")
def attribute_command(
    ctx: typer.Context,
    content: str = typer.Option(..., "--content", help="The content part of the prompt."),
    style: list[str] = typer.Option([], "--style", help="ARTIST_ID=PHRASE, once per artist (none: the model earns all)."),
    lora: list[str] = typer.Option([], "--lora", help="ARTIST_ID=PATH of a LoRA adapter for that artist's style."),
    mix: list[str] = typer.Option([], "--mix", help="ARTIST_ID=IMAGE[@WEIGHT]: the image was conditioned on this work "
                                  "of the artist (a PNG file or a registered work id ARTIST_ID/N; weight 1 by default)."),
    gallery: list[str] = typer.Option([], "--gallery", help="ARTIST_ID=DIR of the artist's reference images."),
    image: str | None = typer.Option(None, "--image", help="The generated image (PNG); regenerated if absent."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Seed the image was generated with."),
    mode: str | None = setting("mode"),
    profile: str | None = setting("profile"),
    model_id: str | None = typer.Option(None, "--model-id", help="Account id of the generative model "
                                        "(default: the id FAIRSPLIT_MODEL_ROUTES serves with this profile)."),
    tau: float | None = setting("tau"),
    value_correction: str | None = setting("value_correction"),
    save_images: str | None = typer.Option(None, "--save-images", help="Write the coalition renders into this folder."),
    timings: bool = typer.Option(False, "--timings", help="Include wall-clock timings (not deterministic)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result object as JSON."),
) -> None:
    """Split one generated image between its model and the artists it names; records nothing."""
    from fairsplit.profile import MODES, PROFILES
    from fairsplit.request import AttributionRequest, Style

    with user_errors():
        settings = settings_of(ctx).merge(mode=mode, profile=profile, tau=tau, value_correction=value_correction)
        routes = parse_routes(settings.routes)
    if settings.profile not in PROFILES:
        fail(f"unknown profile {settings.profile!r}; choose one of: {', '.join(PROFILES)}.")
    if settings.mode not in MODES:
        fail(f"unknown mode {settings.mode!r}; choose one of: {', '.join(MODES)}.")
    model_id = model_id or next((m for m, p in routes.items() if p == settings.profile), settings.profile)
    styles = _pairs(style, "--style")
    works = _mixes(mix, settings.database_url)
    styles += [(a, "") for a in works if a not in dict(styles)]
    ids = [a for a, _ in styles]
    loras = dict(_pairs(lora, "--lora"))
    folders = dict(_pairs(gallery, "--gallery"))
    for artist in {**loras, **folders}:
        if artist not in ids:
            fail(f"artist {artist!r} has a --lora or --gallery but no --style or --mix.")
    for artist, path in {**loras, **folders}.items():
        if not Path(path).exists():
            fail(f"{path} (given for artist {artist!r}) does not exist.")
    png = read_input(image, "image file", 8 << 20) if image is not None else None
    # The model stack (torch, diffusers) loads only once the arguments are known to be good,
    # so that a mistake is answered in a second.
    from fairsplit.attribute import AttributionConfig, attribute
    from fairsplit.gallery import embed_gallery
    from fairsplit.profiles import ModelUnavailable, load_profile
    from fairsplit.render import Renderer

    try:
        request = AttributionRequest(model_id, content,
                                     tuple(Style(a, p, loras.get(a), works.get(a)) for a, p in styles), seed,
                                     image_png=png)
        # Progress on stderr from the first second; with --json, only in a terminal (a program reads the JSON).
        with Activity(f"loading the {settings.profile} models", enabled=not as_json or err.is_terminal) as activity:
            models = load_profile(settings.profile, settings.model_sources, settings.acceleration(serving=False))
            activity.step(f"embedding the galleries of {len(ids)} artists")
            galleries = {**_registered_galleries(settings.database_url, ids, models.embedder.id),
                         **{a: embed_gallery(d, models) for a, d in folders.items()}}
            config = AttributionConfig(mode=settings.mode, tau=settings.tau, keep_images=bool(save_images),
                                       value_correction=settings.value_correction)
            activity.step(f"rendering and scoring the coalitions of {len(ids)} artists and the model")
            result = attribute(request, models, galleries, config, Renderer(models))
    except (ModelUnavailable, ValueError, OSError) as exc:
        fail(str(exc).rstrip(".") + ".")
    if save_images:
        folder = Path(save_images)
        with user_errors():
            folder.mkdir(parents=True, exist_ok=True)
            for label, picture in result.images.items():
                picture.save(folder / f"coalition-{label}.png")
        say(f"Wrote {len(result.images)} coalition renders to {folder}.", to=err if as_json else out)
    if as_json:
        sys.stdout.write(result.to_json(timings=timings) + "\n")
        return
    _print_attribution(result, timings)


def _print_attribution(result, timings: bool) -> None:
    method = result.method
    title = f"{method.value_function} split, {method.estimator}, profile {method.profile}"
    if method.value_correction == "floor" and result.floor is not None:
        title += f", values above the floor {result.floor:.3f}"
    if method.test_model:
        title += " (test model: shares mean nothing)"
    if method.approximation:
        title += " (text approximation)"
    rows = [(p.account, f"{result.shares[p.account]:.4f}", "yes" if p.recognised else "no",
             "" if p.uplift is None else f"{p.uplift:+.4f}", p.gallery_source or "") for p in result.players]
    out.print(table(title, ["account", "share", "recognised", "uplift", "gallery"], rows))
    if result.clamped:
        say("negative Shapley values were clamped to 0 and the rest renormalised")
    stand_ins = [p.account for p in result.players if p.gallery_source == "synthesized"]
    if stand_ins:  # why the same prompt splits differently once these artists are registered
        names = ", ".join(stand_ins)
        say(f"{names} {'has' if len(stand_ins) == 1 else 'have'} no registered gallery: the reference was synthesized "
            "from the style phrase, so the split measures the phrase, not the artist's works; once registered "
            "(`fairsplit artists add`, or --gallery here) the same prompt is measured against the real works and "
            "the shares change.")
    if timings:
        say(", ".join(f"{k} {v:.4f} s" for k, v in result.timings.items()))


@app.command("explain")
def explain_command(
    ctx: typer.Context,
    event_id: str = typer.Argument(..., help="The event to explain (a lower-case UUID)."),
    out_path: Path = typer.Option(..., "--out", help="Where to write the picture (a new PNG file)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing file."),
    as_json: bool = AS_JSON,
) -> None:
    """Draw why an event was split as it was: its image, every coalition value (renders and galleries), the formula, the shares paid."""
    from fairsplit.profiles import ModelUnavailable
    from services.contracts import ContractError
    from services.explain import ExplainError, explain_event

    if not is_event_id(event_id):
        fail(f"{event_id!r} is not an event id; event ids are lower-case UUIDs.")
    with user_errors():
        engine = ready_engine(ctx)
        try:
            settings = settings_of(ctx)
            with Activity(f"explaining event {event_id[:8]}…") as activity:
                explanation = explain_event(engine, event_id, settings.model_sources,
                                            settings.acceleration(serving=False), on_step=activity.step)
        except ExplainError as exc:
            fail(str(exc))
        except (ContractError, ModelUnavailable, ValueError) as exc:
            fail(f"cannot re-render event {event_id}: {str(exc).rstrip('.')}.")
    written = write_new_file(out_path, explanation.png, overwrite=force)
    done(as_json, {"event_id": event_id, "file": str(written), "renders": explanation.renders,
                   "works": explanation.works, "shares": explanation.shares},
         f"Wrote {written} ({explanation.renders} renders, {explanation.works} gallery works, "
         f"{len(explanation.shares)} shares).")
