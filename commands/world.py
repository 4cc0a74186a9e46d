"""`fairsplit world …`: the test world — what it holds, its artists' reference works, and
the recognizability threshold calibrated on it."""

from __future__ import annotations

from pathlib import Path

import typer

from commands.common import fail, out, print_json, settings_of, table
from commands.options import AS_JSON
from commands.report import done

app = typer.Typer(help="The test world: a trained offline generator and CLIP whose styles are known.",
                  no_args_is_help=True)


@app.command("describe")
def describe(as_json: bool = AS_JSON) -> None:
    """The world's contents, its known artists (trained) and unknown artists (never in training)."""
    from fairsplit import world

    facts = world.describe()
    if as_json:
        print_json(facts)
        return
    rows = [("content", c) for c in facts["contents"]]
    rows += [("known artist", a) for a in facts["known_artists"]]
    rows += [("unknown artist", a) for a in facts["unknown_artists"]]
    out.print(table("the test world", ["kind", "name"], rows,
                    caption=f"{facts['size']}×{facts['size']} images; prompts: {facts['prompt_format']}"))


@app.command("gallery")
def gallery(
    artist: str = typer.Argument(..., help="A world artist (see `fairsplit world describe`)."),
    out_dir: Path = typer.Option(..., "--out", help="A new (or empty) folder for the works."),
    count: int = typer.Option(12, "--count", min=1, max=1000, help="How many works."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Seed of the works."),
    as_json: bool = AS_JSON,
) -> None:
    """Write an artist's reference works, drawn from the procedural style itself (not by the generator)."""
    from PIL import Image

    from fairsplit import world

    if artist not in world.ARTISTS:
        fail(f"{artist!r} is not an artist of the world; choose one of: {', '.join(world.ARTISTS)}.")
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        fail(f"{out_dir} exists and is not an empty folder; choose a new --out.")
    if not out_dir.parent.is_dir():
        fail(f"The folder {out_dir.parent} does not exist; create it first or choose another --out.")
    try:
        out_dir.mkdir(exist_ok=True)
        for k, work in enumerate(world.works(artist, count, seed)):
            Image.fromarray(work).save(out_dir / f"{artist}-{k:03d}.png")
    except OSError as exc:
        fail(f"Cannot write {out_dir}: {exc.strerror or exc}.")
    done(as_json, {"artist": artist, "works": count, "folder": str(out_dir), "seed": seed},
         f"Wrote {count} works of {artist} to {out_dir} (register them with "
         f"`fairsplit artists add {artist} --name {artist} --gallery {out_dir} --profile world`).")


@app.command("calibrate")
def calibrate(
    ctx: typer.Context,
    cases: int = typer.Option(60, "--cases", min=6, max=5000, help="Labelled cases (each names 1–2 artists)."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Seed of the cases."),
    as_json: bool = AS_JSON,
) -> None:
    """Choose τ (visible vs unknown artists), the style distance (other works of one artist vs
    different artists) and the least work margin (artists' works vs plain drawings) for the
    world profile by ROC; print precision and recall of each."""
    from fairsplit.profiles import ModelUnavailable, load_profile
    from fairsplit.world.cases import calibrate as run
    from fairsplit.world.cases import calibrate_style_distance, calibrate_work_margin

    settings = settings_of(ctx)
    try:
        models = load_profile("world", settings.model_sources, settings.acceleration(serving=False))
        chosen = run(models, cases, seed)
        styles = calibrate_style_distance(models)
        works = calibrate_work_margin(models)
    except (ModelUnavailable, ValueError) as exc:
        fail(str(exc).rstrip(".") + ".")
    facts = {"profile": "world", "tau": chosen.tau, "precision": chosen.precision, "recall": chosen.recall,
             "false_positive_rate": chosen.false_positive_rate, "cases": chosen.cases, "visible": chosen.visible,
             "rule": chosen.rule, "world": models.world,
             "style_distance": {"distance": styles.tau, "recall_same_artist": styles.recall,
                                "distinct_pairs_within": styles.false_positive_rate, "pairs": styles.cases,
                                "same_artist_pairs": styles.visible, "rule": styles.rule},
             "least_work_margin": {"margin": works.tau, "recall_own_works": works.recall,
                                   "plain_pairs_within": works.false_positive_rate, "cases": works.cases,
                                   "own_works": works.visible, "rule": works.rule}}
    if as_json:
        print_json(facts)
        return
    out.print(table(f"τ for profile world ({chosen.rule})", ["τ", "precision", "recall", "named artists", "visible"],
                    [(f"{chosen.tau:.6f}", f"{chosen.precision:.3f}", f"{chosen.recall:.3f}", chosen.cases,
                      chosen.visible)]))
    out.print(table("style distance for profile world (other works of one artist vs different artists)",
                    ["distance", "same artist within", "distinct pairs within", "pairs", "same-artist pairs"],
                    [(f"{styles.tau:.6f}", f"{styles.recall:.3f}", f"{styles.false_positive_rate:.3f}", styles.cases,
                      styles.visible)]))
    out.print(table("least work margin for profile world (image mixing: artists' works vs plain drawings)",
                    ["margin", "own works within", "plain pairs within", "pairs", "own works"],
                    [(f"{works.tau:.6f}", f"{works.recall:.3f}", f"{works.false_positive_rate:.3f}", works.cases,
                      works.visible)]))
