"""`fairsplit artists …`: register artists with the embedding of their reference works."""

from __future__ import annotations

from pathlib import Path

import typer

from commands.common import fail, out, print_json, ready_engine, settings_of, table, user_errors
from commands.options import AS_JSON, setting
from commands.report import done
from ledger.parties.registry import add_artist, get_artists
from ledger.parties.style_allowances import StylePolicy

app = typer.Typer(help="Register artists and the galleries of their reference works.", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    artist_id: str = typer.Argument(..., help="The artist's id, e.g. van-gogh (account artist:<id>)."),
    name: str = typer.Option(..., "--name", help="The artist's name."),
    gallery: Path = typer.Option(..., "--gallery", help="Folder of the artist's reference images."),
    profile: str | None = setting("profile"),
    allow_similar_to: str | None = typer.Option(
        None, "--allow-similar-to", help="Register although the gallery is in this registered artist's style."),
    reason: str | None = typer.Option(None, "--reason", help="Why (recorded with --allow-similar-to)."),
    as_json: bool = AS_JSON,
) -> None:
    """Register an artist with the CLIP embedding of their reference works; a gallery in a
    registered artist's style is refused unless an operator records --allow-similar-to and --reason."""
    from fairsplit.gallery import embed_gallery, gallery_thumbnails
    from fairsplit.profiles import ModelUnavailable, load_profile

    if not gallery.is_dir():
        fail(f"gallery folder {gallery} does not exist.")
    with user_errors():
        settings = settings_of(ctx).merge(profile=profile)
        engine = ready_engine(ctx)
        try:
            models = load_profile(settings.profile, settings.model_sources, settings.acceleration(serving=False))
            embedded = embed_gallery(gallery, models)
            thumbnails = gallery_thumbnails(gallery)
            style = StylePolicy(models.spec.style_distance, allow_similar_to, reason)
        except (ModelUnavailable, ValueError) as exc:
            fail(str(exc).rstrip(".") + ".")
        added = add_artist(engine, artist_id, name, embedded.vector.tolist(), embedded.count, embedded.model_id,
                           thumbnails, style)
    state = "registered" if added else "already registered (unchanged)"
    done(as_json, {"artist_id": artist_id, "account": f"artist:{artist_id}", "registered": bool(added),
                   "works": embedded.count, "embedder": embedded.model_id},
         f"artist:{artist_id} {state}: {embedded.count} works embedded with {embedded.model_id}.")


@app.command("list")
def list_artists(ctx: typer.Context, as_json: bool = AS_JSON) -> None:
    """The registered artists."""
    with user_errors():
        artists = get_artists(ready_engine(ctx))
    rows = [{"artist_id": a.artist_id, "account": f"artist:{a.artist_id}", "name": a.name,
             "gallery_count": a.gallery_count, "gallery_model_id": a.gallery_model_id} for a in artists.values()]
    if as_json:
        print_json(rows)
        return
    out.print(table(f"{len(rows)} registered artist{'s' if len(rows) != 1 else ''}",
                    ["account", "name", "works", "embedded with"],
                    [(r["account"], r["name"], r["gallery_count"], r["gallery_model_id"]) for r in rows]))
