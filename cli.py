"""fairsplit command line: the one place that wires configuration to everything.

Every option with an environment variable reads `FAIRSPLIT_*` first, so a deployment is
configured by its environment and a person can override any of it on the command line.
Commands are grouped by noun (`fairsplit ledger verify`, `fairsplit payouts close`);
people get rich tables, programs get `--json`; a user mistake is one sentence on stderr
and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Column, Table

app = typer.Typer(
    name="fairsplit",
    help="Fair reward splits between generative models and artists, paid through a verifiable ledger.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

out = Console()
err = Console(stderr=True)

DEFAULT_DATABASE_URL = "sqlite:///./fairsplit.db"
DEFAULT_KEY_DIR = "./keys"


@dataclass
class Context:
    """Configuration shared by every command, resolved once in the root callback."""

    database_url: str
    key_dir: str


def fail(message: str, code: int = 2) -> NoReturn:
    """Report a user-facing error as one sentence and exit non-zero."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    """Machine output: one JSON document on stdout, nothing else."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def ctx_of(ctx: typer.Context) -> Context:
    return ctx.find_root().obj


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


# --- ledger: init, ledger verify, balance, history --------------------------


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn ledger and database errors into one sentence and exit code 2, no traceback."""
    from sqlalchemy.exc import ArgumentError, OperationalError

    from ledger.errors import LedgerError

    try:
        yield
    except LedgerError as exc:
        fail(str(exc))
    except ArgumentError:
        fail("The database URL is not valid; use sqlite:///path.db or postgresql://user@host/db.")
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "unknown error"
        fail(f"Cannot use the database: {reason}.")


def open_ledger(ctx: typer.Context, signing: bool = False):
    """The ledger of the configured database, checked to be initialised (call inside user_errors)."""
    from ledger.db import check_ready, make_engine
    from ledger.keys import load_signer
    from ledger.store import Ledger

    config = ctx_of(ctx)
    engine = make_engine(config.database_url)
    check_ready(engine)
    return Ledger(engine, load_signer(config.key_dir, engine) if signing else None)


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
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    proof: str | None = typer.Option(None, "--proof", help="Also write a balance bundle (entries + proofs + checkpoint) to this file."),
    since: int | None = typer.Option(None, "--since", min=0, help="With --proof: add a consistency proof from this tree size."),
) -> None:
    """Show an account's balance per currency (credits − debits)."""
    from ledger.accounts import resolve_account
    from ledger.money import format_amount

    with user_errors():
        name = resolve_account(account)
        totals = open_ledger(ctx).balance(name)
        if proof is not None:
            write_balance_bundle(ctx, name, proof, since)
    rows = [{"currency": cur, "amount": format_amount(micros, cur)} for cur, micros in totals.items()]
    if as_json:
        print_json({"account": name, "balances": rows})
        return
    table = Table("currency", Column("balance", justify="right"), title=name)
    for row in rows:
        table.add_row(row["currency"], row["amount"])
    out.print(table if rows else f"{name} has no transfers.")


@app.command()
def history(
    ctx: typer.Context,
    account: str = typer.Argument(..., help="artist:<id>, model:<id>, platform:<id>, payouts:<CUR>, or a bare artist id."),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="How many transfers, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the transfers into and out of an account, newest first."""
    from ledger.accounts import resolve_account
    from ledger.money import format_amount

    with user_errors():
        name = resolve_account(account)
        transfers = open_ledger(ctx).history(name, limit=limit)
    rows = [
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
    table = Table("seq", "occurred at", "kind", "event", "counterparty", Column("amount", justify="right"), "cur", title=name)
    for row in rows:
        table.add_row(str(row["seq"]), row["occurred_at"], row["kind"], row["event_id"], row["counterparty"],
                      row["amount"], row["currency"])
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
    from fairsplit.recognition import DEFAULT_TAU
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
        galleries = {a: embed_gallery(d, models) for a, d in folders.items()}
        config = AttributionConfig(mode=mode, tau=DEFAULT_TAU if tau is None else tau, keep_images=bool(save_images))
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


# --- pipeline: sign, ingest, emit, serve, up ----------------------------------


# --- payouts and statements ---------------------------------------------------


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
