"""fairsplit command line: the one place that wires configuration to everything.

Every option with an environment variable reads `FAIRSPLIT_*` first, so a deployment is
configured by its environment and a person can override any of it on the command line.
Commands are grouped by noun (`fairsplit ledger verify`, `fairsplit payouts close`);
people get rich tables, programs get `--json`; a user mistake is one sentence on stderr
and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer
from rich.table import Column, Table

from commands.common import (Context, broker_errors, ctx_of, err, fail, open_ledger, out, print_json, ready_engine,
                             user_errors)

app = typer.Typer(
    name="fairsplit",
    help="Fair reward splits between generative models and artists, paid through a verifiable ledger.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DEFAULT_DATABASE_URL = "sqlite:///./fairsplit.db"
DEFAULT_KEY_DIR = "./keys"


@app.callback()
def main(
    ctx: typer.Context,
    database_url: str = typer.Option(
        DEFAULT_DATABASE_URL,
        "--database-url",
        envvar="FAIRSPLIT_DATABASE_URL",
        help="SQLAlchemy URL of the ledger database (sqlite:///… or postgresql+psycopg://…).",
    ),
    key_dir: str = typer.Option(
        DEFAULT_KEY_DIR,
        "--key-dir",
        envvar="FAIRSPLIT_KEY_DIR",
        help="Directory of the ledger's private signing keys (0600 files).",
    ),
) -> None:
    ctx.obj = Context(database_url=database_url, key_dir=key_dir)


# ---------------------------------------------------------------------------
# Command groups. Each area registers its commands in its own section below.
# ---------------------------------------------------------------------------

ledger_app = typer.Typer(help="Verify and inspect the ledger.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
app.add_typer(__import__("commands.witness").witness.app, name="witness")  # commands/witness.py


# --- ledger: init, ledger verify, balance, history --------------------------


@app.command()
def init(ctx: typer.Context) -> None:
    """Create or upgrade the ledger schema and create the signing key if there is none."""
    from ledger.db import head_revision, make_engine, upgrade_to_head
    from ledger.keys import load_or_create_signer

    config = ctx_of(ctx)
    with user_errors():
        engine = make_engine(config.database_url)
        before = upgrade_to_head(engine)
        signer, created = load_or_create_signer(config.key_dir, engine)
    head = head_revision()
    schema = f"schema already at {head}" if before == head else f"schema upgraded from {before or 'nothing'} to {head}"
    key = f"signing key {signer.key_id} {'created and registered' if created else 'in use'} ({config.key_dir})"
    out.print(f"Ledger ready: {schema}; {key}.", highlight=False)


@ledger_app.command("verify")
def ledger_verify(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Recompute every hash, link and signature; exit 1 naming the first bad row."""
    from ledger.transparency import verify_checkpoints
    from ledger.verify import verify_ledger

    with user_errors():
        engine = open_ledger(ctx).engine
        report = verify_ledger(engine)
        checkpoints = verify_checkpoints(engine) if report.ok else None
    if as_json:
        print_json({**report.as_dict(), "checkpoints": checkpoints and checkpoints.as_dict()})
    elif report.ok:
        out.print(f"Ledger intact: {report.checked} transfers verified, head {report.head_hash[:16]}….")
    else:
        err.print(f"[bold red]Ledger broken at seq {report.bad_seq}:[/] {report.problem}.", highlight=False)
    if checkpoints is not None and not as_json:
        if checkpoints.ok:
            out.print(f"Checkpoints intact: {checkpoints.checkpoints} signed tree heads match the transfers.")
        else:
            err.print(f"[bold red]Checkpoints broken:[/] {checkpoints.problem}.", highlight=False)
    if not report.ok or not checkpoints.ok:
        raise typer.Exit(1)


@app.command()
def balance(
    ctx: typer.Context,
    account: str = typer.Argument(..., help="artist:<id>, model:<id>, platform:<id>, payouts:<CUR>, or a bare artist id."),
    period: str | None = typer.Option(None, "--period", help="One period (e.g. 2026-11): opening, earned, paid, pending."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    proof: str | None = typer.Option(None, "--proof", help="Also write a balance bundle (entries + proofs + checkpoint) to this file."),
    since: int | None = typer.Option(None, "--since", min=0, help="With --proof: add a consistency proof from this tree size."),
) -> None:
    """Show an account's balance per currency (credits − debits): pending, and paid out so far."""
    from ledger.accounts import resolve_account
    from ledger.closing import paid_totals
    from ledger.money import format_amount

    with user_errors():
        name = resolve_account(account)
        ledger = open_ledger(ctx)
        totals = ledger.balance(name)
        paid = paid_totals(ledger.engine, name)
        if proof is not None:
            write_balance_bundle(ctx, name, proof, since)
    if period is not None:
        show_period_balance(ledger.engine, name, list(totals), period, as_json)
        return
    rows = [{"currency": cur, "amount": format_amount(micros, cur)} for cur, micros in totals.items()]
    if as_json:
        print_json({"account": name, "balances": rows})
        return
    table = Table("currency", Column("balance (pending)", justify="right"), Column("paid out", justify="right"),
                  title=name)
    for row in rows:
        table.add_row(row["currency"], row["amount"], format_amount(paid.get(row["currency"], 0), row["currency"]))
    out.print(table if rows else f"{name} has no transfers.")


@app.command()
def history(
    ctx: typer.Context,
    account: str = typer.Argument(..., help="artist:<id>, model:<id>, platform:<id>, payouts:<CUR>, or a bare artist id."),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="How many transfers, newest first."),
    period: str | None = typer.Option(None, "--period", help="Only transfers counted in this period (e.g. 2026-11)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the transfers into and out of an account, newest first, with their period and status."""
    from ledger.accounts import resolve_account
    from ledger.closing import period_status, period_transfers
    from ledger.money import format_amount

    with user_errors():
        name = resolve_account(account)
        ledger = open_ledger(ctx)
        if period is None:
            transfers = ledger.history(name, limit=limit)
        else:
            transfers = period_transfers(ledger.engine, name, parse_period_or_fail(period), limit)
        periods = period_status(ledger.engine, transfers)
    rows = [periods[t.seq] |
        {
            "seq": t.seq, "id": t.id, "kind": t.kind, "event_id": t.event_id,
            "amount": format_amount(t.amount if t.credit_account == name else -t.amount, t.currency),
            "currency": t.currency,
            "counterparty": t.debit_account if t.credit_account == name else t.credit_account,
            "occurred_at": t.occurred_at.isoformat(), "memo": t.memo, "reverses_id": t.reverses_id,
        }
        for t in transfers
    ]
    if as_json:
        print_json({"account": name, "transfers": rows})
        return
    table = Table("seq", "occurred at", "kind", "event", "counterparty", Column("amount", justify="right"), "cur",
                  "period", "status", title=name)
    for row in rows:
        table.add_row(str(row["seq"]), row["occurred_at"], row["kind"], row["event_id"], row["counterparty"],
                      row["amount"], row["currency"], row["period"] + (" (late)" if row["late"] else ""), row["status"])
    out.print(table if rows else f"{name} has no transfers.")


@ledger_app.command("demo")
def ledger_demo(
    ctx: typer.Context,
    events: int = typer.Option(3, "--events", min=1, max=100_000, help="How many sample rewards to book."),
) -> None:
    """Book sample rewards (platform demo → van-gogh, monet, model sd-1.5); safe to repeat."""
    from datetime import UTC, datetime
    from fractions import Fraction

    from ledger.money import parse_amount
    from ledger.store import reward_transfers

    shares = {"artist:van-gogh": Fraction(0.5), "artist:monet": Fraction(0.2), "model:sd-1.5": Fraction(0.3)}
    with user_errors():
        ledger = open_ledger(ctx, signing=True)
        head_before, _ = ledger.head()
        specs = [
            spec
            for n in range(events)
            for spec in reward_transfers(f"demo-{n}", "platform:demo", shares, parse_amount("0.004", "USD"), "USD",
                                         datetime(2026, 11, 24, 12, tzinfo=UTC), attribution_id=f"demo-att-{n}")
        ]
        booked = ledger.append(specs)
    new = sum(1 for transfer in booked if transfer.seq > head_before)
    out.print(f"Booked {new} new demo transfers for {events} events ({len(booked) - new} were already booked).")


# --- attribution: attribute ---------------------------------------------------


def _parse_pairs(values: list[str], option: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip() or not rest.strip():
            fail(f"{option} must look like ARTIST_ID=VALUE, got '{value}'.")
        pairs.append((key.strip(), rest.strip()))
    return pairs


@app.command("attribute")
def attribute_command(
    ctx: typer.Context,
    content: str = typer.Option(..., "--content", help="The content part of the prompt."),
    style: list[str] = typer.Option(..., "--style", help="ARTIST_ID=PHRASE, once per artist."),
    lora: list[str] = typer.Option([], "--lora", help="ARTIST_ID=PATH of a LoRA adapter for that artist's style."),
    gallery: list[str] = typer.Option([], "--gallery", help="ARTIST_ID=DIR of the artist's reference images."),
    image: str | None = typer.Option(None, "--image", help="The generated image (PNG); regenerated if absent."),
    seed: int = typer.Option(0, "--seed", help="Seed the image was generated with."),
    mode: str = typer.Option("generative", "--mode", help="generative (renders) or text (approximation)."),
    profile: str = typer.Option("sd15", "--profile", envvar="FAIRSPLIT_PROFILE", help="Model profile: sd15 or tiny."),
    model_id: str = typer.Option("sd-1.5", "--model-id", help="Account id of the generative model."),
    tau: float | None = typer.Option(None, "--tau", help="Recognizability threshold on style uplift."),
    save_images: str | None = typer.Option(None, "--save-images", help="Write the coalition renders here."),
    timings: bool = typer.Option(False, "--timings", help="Include wall-clock timings (not deterministic)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result object as JSON."),
) -> None:
    """Split one generated image between its model and the artists it names; records nothing."""
    from pathlib import Path

    from fairsplit.attribute import MODES, AttributionConfig, attribute
    from fairsplit.gallery import embed_gallery
    from fairsplit.profiles import PROFILES, ModelUnavailable, load_profile
    from fairsplit.render import Renderer
    from fairsplit.request import AttributionRequest, Style

    if profile not in PROFILES:
        fail(f"unknown profile '{profile}'; choose one of: {', '.join(PROFILES)}.")
    if mode not in MODES:
        fail(f"unknown mode '{mode}'; choose one of: {', '.join(MODES)}.")
    styles = _parse_pairs(style, "--style")
    ids = [a for a, _ in styles]
    loras = dict(_parse_pairs(lora, "--lora"))
    folders = dict(_parse_pairs(gallery, "--gallery"))
    for artist in {**loras, **folders}:
        if artist not in ids:
            fail(f"artist '{artist}' has a --lora or --gallery but no --style.")
    for artist, path in {**loras, **folders}.items():
        if not Path(path).exists():
            fail(f"{path} (given for artist '{artist}') does not exist.")
    png = None
    if image is not None:
        if not Path(image).is_file():
            fail(f"image file {image} does not exist.")
        png = Path(image).read_bytes()
    try:
        request = AttributionRequest(
            model_id, content, tuple(Style(a, p, loras.get(a)) for a, p in styles), seed, image_png=png
        )
        models = load_profile(profile)
        galleries = {**registered_galleries(ctx, ids, models.embedder.id),
                     **{a: embed_gallery(d, models) for a, d in folders.items()}}
        config = AttributionConfig(mode=mode, tau=tau, keep_images=bool(save_images))
        result = attribute(request, models, galleries, config, Renderer(models))
    except (ModelUnavailable, ValueError) as exc:
        fail(str(exc).rstrip(".") + ".")
    if save_images:
        folder = Path(save_images)
        folder.mkdir(parents=True, exist_ok=True)
        for label, picture in result.images.items():
            picture.save(folder / f"coalition-{label}.png")
    if as_json:
        sys.stdout.write(result.to_json(timings=timings) + "\n")
        return
    _print_attribution(result, timings)


def registered_galleries(ctx: typer.Context, artist_ids: list[str], embedder_id: str) -> dict:
    """Galleries of registered artists embedded with `embedder_id`, when the project database
    is initialised; nothing otherwise (the stateless CLI then falls back, see docs)."""
    import numpy as np
    from sqlalchemy.exc import SQLAlchemyError

    from fairsplit.gallery import Gallery
    from ledger.db import check_ready, make_engine
    from ledger.errors import LedgerError
    from ledger.registry import get_artists

    try:
        engine = make_engine(ctx_of(ctx).database_url)
        check_ready(engine)
        artists = get_artists(engine, artist_ids)
    except (LedgerError, SQLAlchemyError):
        return {}
    return {a: Gallery(np.asarray(x.gallery, dtype=np.float32), x.gallery_count, x.gallery_model_id)
            for a, x in artists.items() if x.gallery_model_id == embedder_id}


def _print_attribution(result, timings: bool) -> None:
    from rich.table import Table

    method = result.method
    title = f"{method.value_function} split, {method.estimator}, profile {method.profile}"
    if method.test_model:
        title += " (test model: shares mean nothing)"
    if method.approximation:
        title += " (text approximation)"
    table = Table(title=title)
    for column in ("account", "share", "recognised", "uplift", "gallery"):
        table.add_column(column)
    for p in result.players:
        uplift = "" if p.uplift is None else f"{p.uplift:+.4f}"
        table.add_row(
            p.account, f"{result.shares[p.account]:.4f}", "yes" if p.recognised else "no", uplift,
            p.gallery_source or "",
        )
    out.print(table)
    if result.clamped:
        out.print("negative Shapley values were clamped to 0 and the rest renormalised")
    if timings:
        out.print({k: round(v, 4) for k, v in result.timings.items()})


# --- registry: artists, platforms ---------------------------------------------

artists_app = typer.Typer(help="Register artists and the galleries of their reference works.", no_args_is_help=True)
app.add_typer(artists_app, name="artists")
platforms_app = typer.Typer(help="Register platforms and the keys their events are signed with.", no_args_is_help=True)
app.add_typer(platforms_app, name="platforms")


@artists_app.command("add")
def artists_add(
    ctx: typer.Context,
    artist_id: str = typer.Argument(..., help="The artist's id, e.g. van-gogh (account artist:<id>)."),
    name: str = typer.Option(..., "--name", help="The artist's name."),
    gallery: Path = typer.Option(..., "--gallery", help="Folder of the artist's reference images."),
    profile: str = typer.Option("sd15", "--profile", envvar="FAIRSPLIT_PROFILE", help="Model profile whose CLIP embeds the gallery."),
) -> None:
    """Register an artist with the CLIP embedding of their reference works."""
    from fairsplit.gallery import embed_gallery, gallery_thumbnails
    from fairsplit.profiles import ModelUnavailable, load_profile
    from ledger.registry import add_artist

    if not gallery.is_dir():
        fail(f"gallery folder {gallery} does not exist.")
    with user_errors():
        engine = ready_engine(ctx)
        try:
            embedded = embed_gallery(gallery, load_profile(profile))
        except (ModelUnavailable, ValueError, OSError) as exc:
            fail(str(exc).rstrip(".") + ".")
        added = add_artist(engine, artist_id, name, embedded.vector.tolist(), embedded.count, embedded.model_id,
                           gallery_thumbnails(gallery))
    state = "registered" if added else "already registered (unchanged)"
    out.print(f"artist:{artist_id} {state}: {embedded.count} works embedded with {embedded.model_id}.", highlight=False)


@artists_app.command("list")
def artists_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The registered artists."""
    from rich.table import Table

    from ledger.registry import get_artists

    with user_errors():
        artists = get_artists(ready_engine(ctx))
    rows = [
        {"artist_id": a.artist_id, "account": f"artist:{a.artist_id}", "name": a.name,
         "gallery_count": a.gallery_count, "gallery_model_id": a.gallery_model_id}
        for a in artists.values()
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} registered artist{'s' if len(rows) != 1 else ''}")
    for column in ("account", "name", "works", "embedded with"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["account"], r["name"], str(r["gallery_count"]), r["gallery_model_id"])
    out.print(table)


def write_private_key(path: Path, pem: bytes) -> None:
    """Write a private key file with 0600 permissions; never overwrite one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fail(f"{path} already exists; choose another --key-out or register it with --public-key.")
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


@platforms_app.command("add")
def platforms_add(
    ctx: typer.Context,
    platform_id: str = typer.Argument(..., help="The platform's id (account platform:<id>)."),
    key_out: Path | None = typer.Option(None, "--key-out", help="Where to write the new private key (default ./ID.platform.pem)."),
    public_key: Path | None = typer.Option(None, "--public-key", help="Register this existing Ed25519 public key (PEM) instead."),
) -> None:
    """Register a platform with the Ed25519 key its events must be signed with."""
    from ledger.registry import add_platform
    from services.signing import SignatureError, generate_private_key, load_public_key, private_key_pem, public_key_pem

    with user_errors():
        engine = ready_engine(ctx)
        if public_key is not None:
            if key_out is not None:
                fail("give either --public-key or --key-out, not both.")
            if not public_key.is_file():
                fail(f"public key file {public_key} does not exist.")
            try:
                pem = public_key_pem(load_public_key(public_key)).decode()
            except SignatureError as exc:
                fail(str(exc))
            add_platform(engine, platform_id, pem)
            out.print(f"platform:{platform_id} registered with the public key in {public_key}.", highlight=False)
            return
        private = generate_private_key()
        path = key_out or Path(f"./{platform_id}.platform.pem")
        write_private_key(path, private_key_pem(private))  # first: never register a key nobody holds
        try:
            add_platform(engine, platform_id, public_key_pem(private.public_key()).decode())
        except BaseException:
            path.unlink()
            raise
    out.print(f"platform:{platform_id} registered; its private key (keep it secret) is in {path}", highlight=False)


@platforms_app.command("list")
def platforms_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The registered platforms and their key fingerprints."""
    from ledger.registry import fingerprint, platform_keys

    with user_errors():
        keys = platform_keys(ready_engine(ctx))
    rows = [{"platform_id": p, "account": f"platform:{p}", "key_sha256": fingerprint(pem)} for p, pem in keys.items()]
    if as_json:
        print_json(rows)
        return
    for r in rows:
        out.print(f"{r['account']}  key sha256 {r['key_sha256'][:16]}…", highlight=False)


# --- pipeline: sign, ingest, emit, serve, up ----------------------------------

serve_app = typer.Typer(help="Run a service: the attribution worker or the ledger writer.", no_args_is_help=True)
app.add_typer(serve_app, name="serve")

BOOTSTRAP = typer.Option(None, "--bootstrap", envvar="FAIRSPLIT_KAFKA_BOOTSTRAP", help="Kafka bootstrap servers (host:port).")
PARTITIONS = typer.Option(6, "--partitions", envvar="FAIRSPLIT_KAFKA_PARTITIONS", help="Partitions of topics this creates.")
SESSION_TIMEOUT = typer.Option(10_000, "--session-timeout-ms", envvar="FAIRSPLIT_KAFKA_SESSION_TIMEOUT_MS", help="Consumer group session timeout.")
METRICS_PORT = typer.Option(None, "--metrics-port", envvar="FAIRSPLIT_METRICS_PORT", help="Serve Prometheus metrics on this port.")
ROUTES = typer.Option(None, "--routes", envvar="FAIRSPLIT_MODEL_ROUTES", help="Served models, MODEL_ID=PROFILE,… (default sd-1.5=sd15,tiny-sd=tiny).")
TAU = typer.Option(None, "--tau", envvar="FAIRSPLIT_TAU", help="Recognizability threshold on style uplift (default per profile: sd15 0.02, tiny 0).")
MODE = typer.Option("generative", "--mode", envvar="FAIRSPLIT_MODE", help="Value function: generative or text.")
TOPIC_PREFIX = typer.Option("", "--topic-prefix", envvar="FAIRSPLIT_TOPIC_PREFIX", help="Prefix of topic and group names.")


def kafka_settings(bootstrap: str | None, partitions: int, session_timeout_ms: int,
                   metrics_port: int | None = None, prefix: str = ""):
    from services.runners import KafkaSettings

    if not bootstrap:
        fail("no Kafka bootstrap server: pass --bootstrap or set FAIRSPLIT_KAFKA_BOOTSTRAP (or run `fairsplit up`).")
    return KafkaSettings(bootstrap, partitions, session_timeout_ms, max(1000, session_timeout_ms // 6), metrics_port, prefix)


def worker_parts(ctx: typer.Context, routes: str | None, tau: float | None, mode: str):
    """Admission gate and attributor over the registry, with the worker's registered key."""
    from fairsplit.attribute import MODES, AttributionConfig
    from ledger.registry import add_service_key
    from services.admission import Gate, parse_routes
    from services.attribution_worker import WORKER_ROLE, Attributor, load_or_create_worker_key
    from services.lookups import RegistryLookups
    from services.signing import public_key_pem

    if mode not in MODES:
        fail(f"unknown mode '{mode}'; choose one of: {', '.join(MODES)}.")
    try:
        route_map = parse_routes(routes)
    except ValueError as exc:
        fail(str(exc))
    engine = ready_engine(ctx)
    key, _ = load_or_create_worker_key(ctx_of(ctx).key_dir)
    add_service_key(engine, key.key_id, WORKER_ROLE, public_key_pem(key.public_key).decode())
    lookups = RegistryLookups(engine, WORKER_ROLE)
    gate = Gate(lookups.platform_key, lookups.known_artists, route_map)
    config = AttributionConfig(mode=mode, tau=tau)
    return gate, Attributor(lookups.galleries, key, config)


def writer_parts(ctx: typer.Context):
    """accept(raw result), book(accepted result), book_many(accepted results) and the signing ledger."""
    from services.attribution_worker import WORKER_ROLE
    from services.ledger_writer import accept_result, record_result, record_results
    from services.lookups import RegistryLookups

    ledger = open_ledger(ctx, signing=True)
    lookups = RegistryLookups(ledger.engine, WORKER_ROLE)
    return ((lambda raw: accept_result(raw, lookups.worker_key)), (lambda accepted: record_result(ledger, accepted)),
            (lambda batch: record_results(ledger, batch)), ledger)


@app.command("sign")
def sign_command(
    file: Path = typer.Argument(..., help="JSONL file of generation events."),
    platform: str = typer.Option(..., "--platform", help="The platform the events are for."),
    key: Path = typer.Option(..., "--key", help="The platform's private key (PKCS#8 PEM)."),
    out_file: Path | None = typer.Option(None, "--out", help="Write here instead of stdout."),
) -> None:
    """Sign events for a platform: Ed25519 over each event's canonical JSON without `signature`."""
    from services.contracts import ContractError, load_json_object
    from services.signing import SignatureError, load_private_key, sign_event

    if not file.is_file():
        fail(f"event file {file} does not exist.")
    if not key.is_file():
        fail(f"key file {key} does not exist.")
    try:
        private = load_private_key(key)
    except SignatureError as exc:
        fail(str(exc))
    lines = []
    for number, raw in enumerate(file.read_bytes().splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            event = load_json_object(raw, "generation event")
        except ContractError as exc:
            fail(f"line {number}: {exc}")
        if event.setdefault("platform_id", platform) != platform:
            fail(f"line {number}: the event is for platform {event['platform_id']!r}, not {platform!r}.")
        lines.append(json.dumps(sign_event(event, private), ensure_ascii=False, separators=(",", ":")))
    text = "".join(line + "\n" for line in lines)
    if out_file is None:
        sys.stdout.write(text)
    else:
        out_file.write_text(text, encoding="utf-8")
        err.print(f"{len(lines)} events signed for platform:{platform} → {out_file}", highlight=False)


@app.command("ingest")
def ingest_command(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="JSONL file of signed generation events."),
    as_json: bool = typer.Option(False, "--json", help="Print the per-line report as JSON."),
    routes: str | None = ROUTES,
    tau: float | None = TAU,
    mode: str = MODE,
    batch_size: int = typer.Option(8, "--batch-size", help="Events attributed together."),
) -> None:
    """Event → attribution → ledger without a broker (backfills, replays). Rejected lines go to FILE.dlq.jsonl."""
    from rich.progress import Progress

    from ledger.events import recorded_body
    from services.ingest import Ingest, dead_letter_line

    if not file.is_file():
        fail(f"event file {file} does not exist.")
    with user_errors():
        gate, attributor = worker_parts(ctx, routes, tau, mode)
        accept, book, _, ledger = writer_parts(ctx)
    pipeline = Ingest(gate.admit, attributor, lambda record: book(accept(record)),
                      lambda event_id: recorded_body(ledger.engine, event_id), batch_size)
    lines = file.read_bytes().splitlines(keepends=True)
    dlq_path = file.with_name(file.name.removesuffix(".jsonl") + ".dlq.jsonl")
    reports, letters = [], []
    with Progress(console=err, transient=True, disable=as_json) as progress:
        task = progress.add_task(f"ingesting {file.name}", total=sum(1 for line in lines if line.strip()))
        for report, raw in pipeline.run(lines):
            reports.append(report)
            if report.status == "rejected":
                letters.append(dead_letter_line(report, raw, str(file)))
            progress.advance(task)
    reports.sort(key=lambda r: r.line)  # rejections are known before their batch-mates are attributed
    letters.sort(key=lambda letter: json.loads(letter)["source"]["offset"])
    if letters:
        dlq_path.write_text("".join(letter + "\n" for letter in letters), encoding="utf-8")
    counts = {s: sum(r.status == s for r in reports) for s in ("recorded", "duplicate", "rejected")}
    if as_json:
        print_json({"lines": [r.as_dict() for r in reports], "counts": counts,
                    "dead_letters": str(dlq_path) if letters else None})
    else:
        for r in reports:
            style = {"recorded": "green", "duplicate": "yellow", "rejected": "red"}[r.status]
            reason = f": {r.reason}" if r.reason else ""
            out.print(f"line {r.line}: [{style}]{r.status}[/] {r.event_id or ''}{reason}", highlight=False)
        out.print(f"{counts['recorded']} recorded, {counts['duplicate']} duplicate, {counts['rejected']} rejected"
                  + (f"; rejected lines with reasons in {dlq_path}" if letters else ""), highlight=False)
    raise typer.Exit(1 if counts["rejected"] else 0)


@app.command("emit")
def emit_command(
    file: Path | None = typer.Argument(None, help="JSONL file of signed events to publish."),
    sample: int | None = typer.Option(None, "--sample", help="Publish N signed sample events instead."),
    platform: str = typer.Option("demo-platform", "--platform", help="Platform of the sample events."),
    key: Path | None = typer.Option(None, "--key", help="Private key to sign the sample events with."),
    bootstrap: str | None = BOOTSTRAP,
    partitions: int = PARTITIONS,
    topic_prefix: str = TOPIC_PREFIX,
) -> None:
    """Publish events to generation.events (key = event_id), as a platform would."""
    from services.contracts import ContractError, load_json_object
    from services.demo import sample_events
    from services.runners import emit
    from services.signing import SignatureError, load_private_key

    if (file is None) == (sample is None):
        fail("give either an event FILE or --sample N.")
    if sample is not None:
        if key is None or not key.is_file():
            fail("--sample needs --key, the platform's private key file (see `fairsplit platforms add`).")
        try:
            records = [json.dumps(e).encode() for e in sample_events(sample, load_private_key(key), platform)]
        except SignatureError as exc:
            fail(str(exc))
    else:
        if not file.is_file():
            fail(f"event file {file} does not exist.")
        records = [line for line in file.read_bytes().splitlines() if line.strip()]
    keys = []
    for record in records:
        try:
            event_id = load_json_object(record, "event").get("event_id")
        except ContractError:
            event_id = None  # published as is: the worker dead-letters it with its reason
        keys.append(str(event_id).encode() if event_id else None)
    with broker_errors(bootstrap):
        sent = emit(kafka_settings(bootstrap, partitions, 10_000, prefix=topic_prefix), records, keys)
    out.print(f"{sent} events published to generation.events", highlight=False)


def _serve(processor) -> None:
    from services.observability import configure_logging

    configure_logging(processor.service)
    processor.run(handle_signals=True)


@serve_app.command("attribution")
def serve_attribution(
    ctx: typer.Context,
    bootstrap: str | None = BOOTSTRAP,
    partitions: int = PARTITIONS,
    session_timeout_ms: int = SESSION_TIMEOUT,
    metrics_port: int | None = METRICS_PORT,
    topic_prefix: str = TOPIC_PREFIX,
    routes: str | None = ROUTES,
    tau: float | None = TAU,
    mode: str = MODE,
    batch_size: int = typer.Option(32, "--batch-size", envvar="FAIRSPLIT_BATCH_SIZE", help="Events attributed together (renders are chunked by memory)."),
) -> None:
    """generation.events → attribution → attribution.results (one member of the worker group)."""
    from services.runners import attribution_worker

    settings = kafka_settings(bootstrap, partitions, session_timeout_ms, metrics_port, topic_prefix)
    with user_errors():
        gate, attributor = worker_parts(ctx, routes, tau, mode)
    with broker_errors(settings.bootstrap):
        processor = attribution_worker(settings, gate.admit, attributor, batch_size=batch_size)
    _serve(processor)


@serve_app.command("ledger")
def serve_ledger(
    ctx: typer.Context,
    bootstrap: str | None = BOOTSTRAP,
    partitions: int = PARTITIONS,
    session_timeout_ms: int = SESSION_TIMEOUT,
    metrics_port: int | None = METRICS_PORT,
    topic_prefix: str = TOPIC_PREFIX,
    checkpoint_entries: int = typer.Option(1000, "--checkpoint-entries", envvar="FAIRSPLIT_CHECKPOINT_ENTRIES",
                                           help="Sign a checkpoint after this many new entries…"),
    checkpoint_seconds: float = typer.Option(60.0, "--checkpoint-seconds", envvar="FAIRSPLIT_CHECKPOINT_SECONDS",
                                             help="…or this many seconds since the last one, whichever comes first."),
) -> None:
    """attribution.results → the ledger, a batch of events per transaction (each all-or-nothing), committed after the database."""
    from sqlalchemy.exc import OperationalError

    from ledger.transparency import maybe_checkpoint

    from services.runners import ledger_writer

    settings = kafka_settings(bootstrap, partitions, session_timeout_ms, metrics_port, topic_prefix)
    with user_errors():
        accept, book, book_many, ledger = writer_parts(ctx)

    def checkpoint() -> None:
        maybe_checkpoint(ledger.engine, ledger.signer, checkpoint_entries, checkpoint_seconds)

    with broker_errors(settings.bootstrap):
        processor = ledger_writer(settings, accept, book, transient=(OperationalError,), book_many=book_many,
                                  after_batch=checkpoint)
    _serve(processor)


def setup_demo(ctx: typer.Context, state_dir: Path):
    """Register the demo platform (key in the key dir) and artists with generated galleries."""
    from fairsplit.gallery import embed_gallery, gallery_thumbnails
    from fairsplit.profiles import load_profile
    from ledger.registry import add_artist, add_platform, platform_keys
    from services.demo import DEMO_ARTISTS, DEMO_PLATFORM, render_gallery
    from services.signing import generate_private_key, load_private_key, private_key_pem, public_key_pem

    engine = ready_engine(ctx)
    key_path = Path(ctx_of(ctx).key_dir) / f"{DEMO_PLATFORM}.platform.pem"
    if not key_path.exists():
        if DEMO_PLATFORM in platform_keys(engine):
            fail(f"{DEMO_PLATFORM} is registered but its key {key_path} is missing; use a fresh database.")
        write_private_key(key_path, private_key_pem(generate_private_key()))
    private = load_private_key(key_path)
    add_platform(engine, DEMO_PLATFORM, public_key_pem(private.public_key()).decode())
    models = load_profile("tiny")
    for artist in DEMO_ARTISTS:
        folder = render_gallery(models, artist, state_dir / "galleries" / artist.artist_id)
        gallery = embed_gallery(folder, models)
        add_artist(engine, artist.artist_id, artist.name, gallery.vector.tolist(), gallery.count, gallery.model_id,
                   gallery_thumbnails(folder))
    return engine, private


def wait_for_events(engine, event_ids: list[str], stack, timeout_s: float) -> int:
    """Wait, with a progress bar, until every event id is in the ledger; returns how many are."""
    import time

    from rich.progress import Progress
    from sqlalchemy import func, select

    from ledger.events import EVENTS

    deadline = time.monotonic() + timeout_s
    landed = 0
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("attributing and recording events", total=len(event_ids))
        while landed < len(event_ids) and time.monotonic() < deadline:
            stack.check_alive()
            with engine.connect() as connection:
                landed = connection.execute(
                    select(func.count()).select_from(EVENTS).where(EVENTS.c.event_id.in_(event_ids))
                ).scalar()
            progress.update(task, completed=landed)
            time.sleep(0.3)
    return landed


def print_balances(ledger, accounts: list[str], as_json: bool) -> None:
    from rich.table import Table

    from ledger.money import format_amount

    rows = [(a, c, m) for a in accounts for c, m in sorted(ledger.balance(a).items())]
    if as_json:
        print_json({"balances": [{"account": a, "currency": c, "amount": format_amount(m, c)} for a, c, m in rows]})
        return
    table = Table(title="Balances")
    table.add_column("account")
    table.add_column("balance", justify="right")
    for account, currency, micros in rows:
        table.add_row(account, f"{format_amount(micros, currency)} {currency}")
    out.print(table)


@app.command("up")
def up_command(
    ctx: typer.Context,
    demo: bool = typer.Option(False, "--demo", help="Register a demo platform and artists, emit signed sample events, print balances, stop."),
    events: int = typer.Option(12, "--events", help="Sample events the demo emits."),
    bootstrap: str | None = BOOTSTRAP,
    tau: float | None = TAU,
    state_dir: Path = typer.Option(Path(".fairsplit"), "--state-dir", help="Logs and demo galleries."),
    timeout_s: float = typer.Option(300.0, "--timeout", help="How long the demo waits for its events."),
    as_json: bool = typer.Option(False, "--json", help="Demo: print the balances as JSON."),
) -> None:
    """The embedded stack: a local broker (unless --bootstrap), the attribution worker and the ledger writer."""
    import time

    from ledger.db import make_engine, upgrade_to_head
    from ledger.keys import load_or_create_signer
    from ledger.verify import verify_ledger
    from services.demo import DEMO_ARTISTS, DEMO_MODEL, DEMO_PLATFORM, sample_events
    from services.runners import emit
    from services.stack import embedded_stack
    from services.tansu import BrokerNotFound, BrokerStartError

    config = ctx_of(ctx)
    with user_errors():
        engine = make_engine(config.database_url)
        upgrade_to_head(engine)
        load_or_create_signer(config.key_dir, engine)
        if demo:
            engine, platform_key = setup_demo(ctx, state_dir)
    env = {"FAIRSPLIT_DATABASE_URL": config.database_url, "FAIRSPLIT_KEY_DIR": config.key_dir,
           "FAIRSPLIT_KAFKA_SESSION_TIMEOUT_MS": "6000", "FAIRSPLIT_KAFKA_PARTITIONS": "2"}
    if tau is not None:
        env["FAIRSPLIT_TAU"] = repr(tau)
    try:
        with embedded_stack(env, state_dir / "logs", bootstrap) as stack:
            err.print(f"broker at {stack.bootstrap}; services logging to {state_dir / 'logs'}", highlight=False)
            if not demo:
                err.print("running; Ctrl-C stops the services and the broker.")
                try:
                    while True:
                        stack.check_alive()
                        time.sleep(1)
                except KeyboardInterrupt:
                    return
            signed = sample_events(events, platform_key, DEMO_PLATFORM)
            settings = kafka_settings(stack.bootstrap, 2, 6000)
            with broker_errors(stack.bootstrap):
                emit(settings, [json.dumps(e).encode() for e in signed], [e["event_id"].encode() for e in signed])
            landed = wait_for_events(engine, [e["event_id"] for e in signed], stack, timeout_s)
    except (BrokerNotFound, BrokerStartError, RuntimeError) as exc:
        fail(str(exc).rstrip(".") + ".")
    with user_errors():
        ledger = open_ledger(ctx)
        accounts = [f"artist:{a.artist_id}" for a in DEMO_ARTISTS] + [f"model:{DEMO_MODEL}", f"platform:{DEMO_PLATFORM}"]
        print_balances(ledger, accounts, as_json)
        report = verify_ledger(ledger.engine)
    if not as_json:
        out.print(f"{landed} of {len(signed)} events recorded; ledger verify: "
                  f"{'intact' if report.ok else 'BROKEN at seq ' + str(report.bad_seq)} ({report.checked} entries).", highlight=False)
    if landed < len(signed) or not report.ok:
        raise typer.Exit(1)


# --- explain -------------------------------------------------------------------


@app.command("explain")
def explain_command(
    ctx: typer.Context,
    event_id: str = typer.Argument(..., help="The event to explain."),
    out_path: Path = typer.Option(..., "--out", help="Where to write the picture (PNG)."),
) -> None:
    """Draw why an event was split as it was: its image, every coalition render with its value, the shares."""
    from sqlalchemy import select

    from fairsplit.attribute import AttributionConfig, attribute
    from fairsplit.explain import Panel, draw_explanation
    from fairsplit.gallery import Gallery
    from fairsplit.profiles import ModelUnavailable, load_profile
    import io

    from PIL import Image

    from ledger.events import get_event
    from ledger.money import format_amount
    from ledger.registry import artist_thumbnails
    from ledger.store import TRANSFERS
    from services.attribution_worker import WORKER_ROLE, to_request
    from services.contracts import ContractError, parse_event
    from services.lookups import RegistryLookups

    import numpy as np

    with user_errors():
        engine = ready_engine(ctx)
        row = get_event(engine, event_id)
        if row is None:
            fail(f"event {event_id} is not in the ledger.")
        with engine.connect() as connection:
            paid = connection.execute(
                select(TRANSFERS.c.credit_account, TRANSFERS.c.amount, TRANSFERS.c.currency)
                .where(TRANSFERS.c.event_id == event_id, TRANSFERS.c.kind == "reward")
            ).all()
        lookups = RegistryLookups(engine, WORKER_ROLE)
    recorded = json.loads(row["attribution_json"])
    method = recorded["method"]
    try:
        request = to_request(parse_event(json.loads(row["event_json"])))
        models = load_profile(method["profile"])
        stored = {a: Gallery(np.asarray(v, dtype=np.float32), n, m)
                  for a, (v, n, m) in lookups.galleries([s.artist_id for s in request.styles]).items()}
        config = AttributionConfig(mode=method["value_function"], tau=method["tau"], keep_images=True)
        again = attribute(request, models, stored, config)
    except (ContractError, ModelUnavailable, ValueError) as exc:
        fail(f"cannot re-render event {event_id}: {str(exc).rstrip('.')}.")
    label = lambda accounts: "+".join(a.split(":", 1)[1] for a in accounts)  # noqa: E731
    values = {label(v["players"]): v["value"] for v in recorded["values"]}
    grand = label([p["account"] for p in recorded["players"]])
    order = sorted(again.images, key=lambda k: (k != grand, -k.count("+"), k))
    def title(key: str) -> str:
        name = "generated image (regenerated)" if key == grand else key
        return name if key in values or key == grand else f"{name}\n(not scored: names a filtered artist)"

    panels = [Panel(title(k), again.images[k], values.get(k)) for k in order]
    renders = len(panels)
    for style in request.styles:  # the artists' own works, where the registry stores thumbnails
        with user_errors():
            works = artist_thumbnails(engine, style.artist_id)
        panels += [Panel(f"artist:{style.artist_id} work {i + 1}", Image.open(io.BytesIO(png)))
                   for i, png in enumerate(works[:2])]
    amounts = {account: f"{format_amount(amount, currency)} {currency}" for account, amount, currency in paid}
    notes = [f"event {event_id} · {row['content']!r} · seed {request.seed} · reward "
             f"{format_amount(row['reward_amount'], row['currency'])} {row['currency']} · {method['estimator']} Shapley"]
    notes += [f"{p['account']} not recognised (style uplift {p.get('uplift', 0):+.5f} < τ {method['tau']}): earns 0"
              for p in recorded["players"] if not p["recognised"]]
    if method.get("test_model"):
        notes.append("tiny test model: renders and shares are not meaningful")
    drift = max(abs(again.shares.get(a, 0.0) - s) for a, s in recorded["shares"].items())
    if drift > 1e-6:  # the worker rendered this event inside a batch: floating-point batch effects
        notes.append(f"re-rendered alone, the shares differ from the worker's batched render by up to {drift:.2g}; "
                     "the recorded shares are the ones paid")
    png = draw_explanation(f"Why event {event_id[:8]}… was split this way", panels, recorded["shares"], amounts, notes)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(png)
    out.print(f"wrote {out_path} ({renders} renders, {len(panels) - renders} gallery works, "
              f"{len(recorded['shares'])} shares)", highlight=False)


# --- payouts and statements ---------------------------------------------------

payouts_app = typer.Typer(help="Close payout periods and list what they paid.", no_args_is_help=True)
app.add_typer(payouts_app, name="payouts")
statements_app = typer.Typer(help="Export and check signed period statements.", no_args_is_help=True)
app.add_typer(statements_app, name="statements")

CURRENCY_OPTION = typer.Option("USD", "--currency", envvar="FAIRSPLIT_CURRENCY", help="ISO 4217 currency of the period.")


def parse_period_or_fail(text: str):
    from ledger.periods import PeriodError, parse_period

    try:
        return parse_period(text)
    except PeriodError as exc:
        fail(str(exc))


def show_period_balance(engine, account: str, currencies: list[str], period: str, as_json: bool) -> None:
    """`balance --period`: per currency, what the period opened with, earned, paid and left pending."""
    from ledger.closing import account_period_view, timeline
    from ledger.money import format_amount

    wanted = parse_period_or_fail(period)
    rows = []
    with user_errors():
        for cur in currencies:
            view = account_period_view(engine, account, wanted, cur)
            status = "closed" if timeline(engine, cur, wanted.cadence).is_closed(wanted) else "open"
            rows.append({"currency": cur, "period": wanted.id, "status": status,
                         **{key: format_amount(value, cur) for key, value in (
                             ("opening", view.opening), ("earned", view.before_payout - view.opening),
                             ("paid", view.payout), ("pending", view.closing))}})
    if as_json:
        print_json({"account": account, "period": wanted.id, "balances": rows})
        return
    table = Table("currency", "status", *(Column(name, justify="right") for name in ("opening", "earned", "paid", "pending")),
                  title=f"{account} in {wanted.id}")
    for row in rows:
        table.add_row(row["currency"], row["status"], row["opening"], row["earned"], row["paid"], row["pending"])
    out.print(table if rows else f"{account} has no transfers.")


@payouts_app.command("close")
def payouts_close(
    ctx: typer.Context,
    period: str = typer.Argument(..., help="Period id: 2026-11 (month), 2026-W47 (ISO week) or 2026-Q4 (quarter)."),
    min_payout: str = typer.Option("0", "--min-payout", envvar="FAIRSPLIT_MIN_PAYOUT",
                                   help="Smallest amount paid out; smaller balances carry forward."),
    currency: str = CURRENCY_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Pay every artist and model its balance (rounded down to the minor unit) and lock the period."""
    from ledger.closing import close_period
    from ledger.money import format_amount, parse_amount
    from ledger.transparency import create_checkpoint

    target = parse_period_or_fail(period)
    with user_errors():
        currency = currency.strip().upper()
        minimum = parse_amount(min_payout, currency)
        ledger = open_ledger(ctx, signing=True)
        result = close_period(ledger, target, currency, minimum)
        checkpoint = create_checkpoint(ledger.engine, ledger.signer)  # every close is a signed tree head
    fmt = lambda micros: format_amount(micros, currency)  # noqa: E731
    report = {
        "period": target.id, "currency": currency, "already_closed": result.already_closed,
        "checkpoint": {"tree_size": checkpoint.size},
        "paid_total": fmt(result.paid_total),
        "closed": [
            {"period": plan.period.id, "through_seq": plan.through_seq, "paid_total": fmt(sum(d.paid for d in plan.paid)),
             "decisions": [{"account": d.account, "balance": fmt(d.balance), "paid": fmt(d.paid),
                            "carried": fmt(d.carried), "reason": d.reason} for d in plan.decisions]}
            for plan in result.closed
        ],
    }
    if as_json:
        print_json(report)
        return
    if result.already_closed:
        out.print(f"Period {target.id} is already closed for {currency}; nothing changed.", highlight=False)
        return
    for plan in report["closed"]:
        table = Table("account", Column("balance", justify="right"), Column("paid", justify="right"),
                      Column("carried forward", justify="right"), "why", title=f"{plan['period']} {currency}")
        for d in plan["decisions"]:
            table.add_row(d["account"], d["balance"], d["paid"], d["carried"], d["reason"])
        out.print(table if plan["decisions"] else f"{plan['period']}: no payee had a balance.")
    closed = ", ".join(plan["period"] for plan in report["closed"])
    out.print(f"Closed {closed} for {currency}: paid {report['paid_total']} {currency} to payouts:{currency}.",
              highlight=False)


@payouts_app.command("list")
def payouts_list(
    ctx: typer.Context,
    period: str | None = typer.Option(None, "--period", help="Only this period (e.g. 2026-11)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List closed periods, newest first, with the payouts each one made."""
    from ledger.closing import list_payouts
    from ledger.money import format_amount

    wanted = parse_period_or_fail(period) if period else None
    with user_errors():
        records = list_payouts(open_ledger(ctx).engine, wanted)
    rows = [
        {"period": r["period"], "currency": r["currency"], "cadence": r["cadence"],
         "closed_at": r["closed_at"].isoformat(), "through_seq": r["through_seq"],
         "min_payout": format_amount(r["min_payout"], r["currency"]), "paid_count": r["paid_count"],
         "paid_total": format_amount(r["paid_total"], r["currency"]),
         "carried_total": format_amount(r["carried_total"], r["currency"]),
         "payouts": [{"account": p["account"], "amount": format_amount(p["amount"], r["currency"]),
                      "transfer_id": p["id"], "seq": p["seq"]} for p in r["payouts"]]}
        for r in records
    ]
    if as_json:
        print_json({"closes": rows})
        return
    if not rows:
        out.print("No period is closed yet." if wanted is None else f"Period {wanted.id} is not closed.")
        return
    table = Table("period", "cur", "closed at", Column("paid", justify="right"), Column("payees paid", justify="right"),
                  Column("carried forward", justify="right"), title="Closed periods")
    for row in rows:
        table.add_row(row["period"], row["currency"], row["closed_at"][:19], row["paid_total"], str(row["paid_count"]),
                      row["carried_total"])
    out.print(table)
    if wanted is not None:
        for row in rows:
            detail = Table("account", Column("amount", justify="right"), "transfer", title=f"Payouts {row['period']}")
            for payout in row["payouts"]:
                detail.add_row(payout["account"], payout["amount"], payout["transfer_id"])
            out.print(detail)


@ledger_app.command("reverse")
def ledger_reverse(
    ctx: typer.Context,
    event_id: str = typer.Argument(..., help="The event whose rewards are taken back."),
    reason: str = typer.Option(..., "--reason", help="Why (kept as the reversal's memo)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Reverse every reward transfer of an event (a clawback); an event is reversed once."""
    from ledger.closing import reverse_event
    from ledger.money import format_amount

    with user_errors():
        transfers = reverse_event(open_ledger(ctx, signing=True), event_id, reason)
    rows = [{"seq": t.seq, "id": t.id, "reverses_id": t.reverses_id, "from": t.debit_account, "to": t.credit_account,
             "amount": format_amount(t.amount, t.currency), "currency": t.currency} for t in transfers]
    if as_json:
        print_json({"event_id": event_id, "reason": reason, "reversals": rows})
        return
    table = Table("seq", "taken from", "returned to", Column("amount", justify="right"), "cur",
                  title=f"Reversed {event_id}")
    for row in rows:
        table.add_row(str(row["seq"]), row["from"], row["to"], row["amount"], row["currency"])
    out.print(table)


@statements_app.command("export")
def statements_export(
    ctx: typer.Context,
    period: str = typer.Argument(..., help="A closed period, e.g. 2026-11."),
    fmt: str = typer.Option(..., "--format", help="csv, json or pdf (comma-separated for several)."),
    out_dir: str = typer.Option(..., "--out", help="Directory to write the files and manifest.json into."),
    account: list[str] = typer.Option(None, "--account", help="Only this payee (repeatable); default: all."),
    currency: str = CURRENCY_OPTION,
) -> None:
    """Write per-payee statements and the finance summary, with a signed manifest.json."""
    from pathlib import Path

    from ledger.accounts import resolve_account
    from ledger.closing import export_statements
    from ledger.money import format_amount
    from ledger.statement_files import FORMATS

    formats = [part.strip().lower() for part in fmt.split(",") if part.strip()]
    if not formats or any(part not in FORMATS for part in formats):
        fail(f"Format {fmt!r} is not one of {', '.join(FORMATS)}.")
    target = parse_period_or_fail(period)
    with user_errors():
        currency = currency.strip().upper()
        accounts = [resolve_account(a) for a in account] if account else None
        ledger = open_ledger(ctx, signing=True)
        summary, manifest, files = export_statements(ledger.engine, ledger.signer, target, currency, formats,
                                                     Path(out_dir), accounts)
    out.print(
        f"Exported {summary.payees} statements for {target.id} ({currency}): payouts "
        f"{format_amount(summary.payouts.total, currency)} = ledger {format_amount(summary.ledger_payouts, currency)}; "
        f"{len(files)} files and {manifest} signed by key {ledger.signer.key_id}.",
        highlight=False,
    )


@statements_app.command("verify")
def statements_verify(
    ctx: typer.Context,
    directory: str = typer.Argument(..., help="A directory written by `statements export`."),
) -> None:
    """Check manifest.json's signature (with the ledger's registered key) and every file's SHA-256."""
    from ledger.closing import public_key_of
    from ledger.manifest import read_manifest, verify_manifest

    with user_errors():
        try:
            manifest = read_manifest(directory)
        except ValueError as exc:
            fail(str(exc))
        key = public_key_of(open_ledger(ctx).engine, manifest.get("key_id", ""))
        if key is None:
            fail(f"Key {manifest.get('key_id')!r} that signed the manifest is not registered in this ledger.")
        problems = verify_manifest(directory, key)
    for problem in problems:
        err.print(f"[bold red]bad:[/] {problem}", highlight=False)
    if problems:
        raise typer.Exit(1)
    out.print(f"Manifest intact: signature by {manifest['key_id']} verifies and {len(manifest['files'])} files match.")


# --- verifiable ledger: checkpoints, proofs, keys ------------------------------

keys_app = typer.Typer(help="The ledger's signing keys: publish, rotate.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _signer_if_available(ctx: typer.Context, engine):
    """The active signing key from the key directory, or None when it is not there."""
    from ledger.errors import SigningKeyError
    from ledger.keys import load_signer

    try:
        return load_signer(ctx_of(ctx).key_dir, engine)
    except SigningKeyError:
        return None


def _write_text(text: str, path: str | None) -> None:
    """Write to `path`, or to stdout when it is None or -."""
    if path is None or path == "-":
        sys.stdout.write(text)
        return
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        fail(f"Cannot write {path}: {exc.strerror}.")


def _write_document(document: dict, path: str | None) -> None:
    _write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", path)


def write_balance_bundle(ctx: typer.Context, account: str, path: str, since: int | None) -> None:
    """`balance --proof`: the bundle as of a checkpoint covering the head (signed now if needed)."""
    from ledger.transparency import balance_bundle

    engine = open_ledger(ctx).engine
    document = balance_bundle(engine, account, _signer_if_available(ctx, engine), since)
    _write_document(document, path)
    err.print(f"Wrote a bundle of {len(document['entries'])} proven entries of {account} to {path}.", highlight=False)


@ledger_app.command("checkpoint")
def ledger_checkpoint(
    ctx: typer.Context,
    origin: str | None = typer.Option(None, "--origin", envvar="FAIRSPLIT_LEDGER_ORIGIN",
                                      help="The log's name in its first checkpoint (default fairsplit/ledger)."),
    out_file: str | None = typer.Option(None, "--out", help="Also write the signed checkpoint note to this file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Extend the Merkle tree to the head and sign a checkpoint of it (append-only)."""
    from ledger.transparency import create_checkpoint

    with user_errors():
        ledger = open_ledger(ctx, signing=True)
        stored = create_checkpoint(ledger.engine, ledger.signer, origin)
    if out_file is not None:
        _write_text(stored.note, out_file)
    checkpoint = stored.checkpoint
    if as_json:
        print_json({"origin": checkpoint.origin, "tree_size": checkpoint.size, "root_hash": checkpoint.root_hash.hex(),
                    "key_id": stored.key_id, "issued_at": checkpoint.issued_at, "note": stored.note})
    else:
        out.print(f"Checkpoint of {checkpoint.origin} at tree size {checkpoint.size}, root {checkpoint.root_hash.hex()[:16]}…, "
                  f"signed by key {stored.key_id}.", highlight=False)


@ledger_app.command("prove")
def ledger_prove(
    ctx: typer.Context,
    entry: str = typer.Argument(..., help="The transfer's seq or id."),
    out_file: str = typer.Option(..., "--out", help="Where to write the proof (JSON); - for stdout."),
    since: int | None = typer.Option(None, "--since", min=0, help="Add a consistency proof from this tree size."),
) -> None:
    """Write an inclusion proof of one transfer with the signed checkpoint it is proven under."""
    from ledger.transparency import prove_inclusion

    with user_errors():
        engine = open_ledger(ctx).engine
        document = prove_inclusion(engine, entry, _signer_if_available(ctx, engine), since)
    _write_document(document, out_file)
    if out_file != "-":
        err.print(f"Wrote the inclusion proof of seq {document['entry']['seq']} to {out_file}.", highlight=False)


@ledger_app.command("consistency")
def ledger_consistency(
    ctx: typer.Context,
    old_size: int = typer.Argument(..., min=0, help="Tree size of the older stored checkpoint."),
    new_size: int = typer.Argument(..., min=0, help="Tree size of the newer stored checkpoint."),
    out_file: str | None = typer.Option(None, "--out", help="Where to write the proof (JSON); stdout by default."),
) -> None:
    """Write a consistency proof between two stored checkpoints."""
    from ledger.transparency import prove_consistency

    with user_errors():
        document = prove_consistency(open_ledger(ctx).engine, old_size, new_size)
    _write_document(document, out_file)


@app.command("verify-proof")
def verify_proof(
    proof_file: str = typer.Argument(..., help="A proof, balance bundle or consistency proof (JSON)."),
    public_key: str = typer.Option(..., "--public-key", help="The ledger's public keys file (`fairsplit keys public`)."),
    previous: str | None = typer.Option(None, "--previous-checkpoint",
                                        help="A checkpoint (or earlier proof) you kept: the log must have only grown since."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Verify a proof offline (no database, no network): exit 0 valid, 1 invalid with the reason."""
    from ledger.keyring import KeyringError, parse_keyring
    from ledger.proofs import VerificationError, verify_document

    def read(path: str) -> bytes:
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except OSError as exc:
            fail(f"Cannot read {path}: {exc.strerror}.")

    try:
        keyring = parse_keyring(read(public_key))
    except KeyringError as exc:
        fail(f"{public_key}: {exc}")
    data, kept = read(proof_file), None if previous is None else read(previous)
    try:
        verified = verify_document(data, keyring, kept)
    except VerificationError as exc:
        reason = str(exc)
    except Exception as exc:  # noqa: BLE001 - never a traceback, never "valid" by accident
        reason = f"The document could not be checked ({type(exc).__name__})."
    else:
        reason = None
    if as_json:
        print_json({"valid": reason is None, "reason": reason} if reason else {
            "valid": True, "format": verified.format, "tree_size": verified.checkpoint.size,
            "root_hash": verified.checkpoint.root_hash.hex(), "checks": verified.lines,
            "account": verified.account, "balances": verified.balances})
    elif reason is None:
        out.print("[bold green]valid[/]: " + "; ".join(verified.lines) + ".", highlight=False, soft_wrap=True)
    else:
        err.print(f"[bold red]invalid:[/] {reason}", highlight=False, soft_wrap=True)
    if reason is not None:
        raise typer.Exit(1)


@keys_app.command("public")
def keys_public(
    ctx: typer.Context,
    out_file: str | None = typer.Option(None, "--out", help="Write the PEM file here instead of stdout."),
) -> None:
    """The ledger's public keys (current and retired, with ids and validity): the file artists verify with."""
    from ledger.transparency import public_keyring

    with user_errors():
        text = public_keyring(open_ledger(ctx).engine).render()
    _write_text(text, out_file)
    if out_file is not None:
        err.print(f"Wrote the ledger's public keys to {out_file}.", highlight=False)


@keys_app.command("rotate")
def keys_rotate(ctx: typer.Context) -> None:
    """Create a new signing key and retire the current one; old public keys stay for verification."""
    from ledger.transparency import rotate_key

    with user_errors():
        engine = open_ledger(ctx).engine
        signer, retired = rotate_key(engine, ctx_of(ctx).key_dir)
    out.print(f"Signing key {signer.key_id} is now in use; retired {', '.join(retired) or 'none'}. "
              "Publish the new public keys file (`fairsplit keys public`).", highlight=False)


if __name__ == "__main__":
    app()
