"""`fairsplit ledger …`: verify, checkpoint, prove, reverse, and the sample-rewards demo."""

from __future__ import annotations

import json

import typer

from commands.common import (err, fail, id_column, money_column, open_ledger, out, print_json, read_input, say,
                             settings_of, table, user_errors, witness_keys, write_output)
from commands.options import AS_JSON as AS_JSON_OPTION, WITNESS_KEY, WITNESS_QUORUM, setting
from commands.report import done
from ledger.books.reversals import reverse_event
from ledger.ids import is_event_id
from ledger.keys.signing import load_signer
from ledger.errors import SigningKeyError
from ledger.money import format_amount
from ledger.transparency.tree import create_checkpoint, verify_checkpoints
from ledger.transparency.proving import prove_consistency, prove_inclusion
from ledger.transparency.witnessing import verify_witnessing
from commands.verify_views import audit, verify_since_command, balances_line, verified_with_progress
from commands.wiring import witness_pool
from commands.keyfiles import agrees_with_keyring, read_keyring

app = typer.Typer(help="Verify and inspect the ledger.", no_args_is_help=True)


@app.command("verify")
def verify(
    ctx: typer.Context,
    witness_key: list[str] | None = WITNESS_KEY,
    witness_quorum: int | None = WITNESS_QUORUM,
    witness_checkpoint: list[str] | None = typer.Option(
        None, "--witness-checkpoint", help="A checkpoint a witness serves (GET <url>/<origin hash>/checkpoint); "
        "repeatable: the ledger must still hold the tree it cosigned."),
    public_key: str | None = typer.Option(None, "--public-key", help="The ledger's public keys file you hold: its first "
                                          "key is pinned and its seq ranges must agree with the log's key history."),
    since: str | None = typer.Option(None, "--since", help="A checkpoint you kept (`ledger checkpoint --out FILE`): "
                                     "check it, then only the entries after it."),
    as_json: bool = AS_JSON_OPTION,
) -> None:
    """Recompute every hash, link and signature (each by the key the log's key history gives its seq), check
    every signed checkpoint (and, with witness keys, their cosignatures) and re-derive the maintained balances
    and closes; exit 1 at the first problem. With --since, only what came after a kept checkpoint."""
    cosigners, quorum = witness_keys(witness_key, witness_quorum)
    views = [read_input(path, "witness checkpoint file", 1 << 20) for path in witness_checkpoint or []]
    if views and not cosigners:
        fail("--witness-checkpoint needs the witnesses' keys (--witness-key).")
    keyring = None if public_key is None else read_keyring(public_key)
    pinned = keyring and keyring.keys[0].public_key
    if since is not None:
        if cosigners or views:
            fail("--since checks the entries after a kept checkpoint; witness checks go with the full verify.")
        verify_since_command(ctx, read_input(since, "kept checkpoint file", 1 << 20), as_json, keyring)
        return
    with user_errors():
        engine = open_ledger(ctx).engine
        report = verified_with_progress(engine, as_json, pinned)
        if report.ok and keyring is not None:
            report = agrees_with_keyring(engine, keyring, report)
        checkpoints = verify_checkpoints(engine, pinned) if report.ok else None
        audited = audit(engine) if report.ok and checkpoints.ok else None
        witnessed = (verify_witnessing(engine, cosigners, quorum or len(cosigners), views)
                     if cosigners and report.ok and checkpoints.ok else None)
    if as_json:
        print_json({**report.as_dict(), "checkpoints": checkpoints and checkpoints.as_dict(),
                    "balances": audited and audited.as_dict(), "witnesses": witnessed and witnessed.as_dict()})
    elif report.ok:
        legacy = f"; {report.legacy_rewards} legacy rewards predate evidence" if report.legacy_rewards else ""
        say(f"Ledger intact: {report.checked} transfers verified, head {report.head_hash[:16]}…{legacy}.")
    else:
        where = f" at seq {report.bad_seq}" if report.bad_seq is not None else ""
        say(f"Ledger broken{where}: {report.problem}.", "bold red", to=err)
    if checkpoints is not None and not as_json:
        if checkpoints.ok:
            say(f"Checkpoints intact: {checkpoints.checkpoints} signed tree heads match the transfers.")
        else:
            say(f"Checkpoints broken: {checkpoints.problem}.", "bold red", to=err)
    if audited is not None and not as_json:
        say(balances_line(audited) if audited.ok else f"Balances broken: {audited.problem}.",
            None if audited.ok else "bold red", to=out if audited.ok else err)
    if witnessed is not None and not as_json:
        if witnessed.ok:
            say(f"Witnessed: checkpoint {witnessed.checkpoint} is cosigned by {', '.join(witnessed.cosigned_by) or 'nobody'}"
                f" ({witnessed.unwitnessed_entries} newer entries await the next checkpoint; "
                f"{witnessed.views} witness views match).")
        else:
            say(f"Not witnessed: {witnessed.problem}.", "bold red", to=err)
    if not report.ok or (audited is not None and not audited.ok) or not checkpoints.ok \
            or (witnessed is not None and not witnessed.ok):
        raise typer.Exit(1)


@app.command("demo")
def demo(
    ctx: typer.Context,
    events: int = typer.Option(3, "--events", min=1, max=100_000, help="How many sample rewards to book."),
    as_json: bool = AS_JSON_OPTION,
) -> None:
    """Book sample rewards (platform demo → van-gogh, monet, model sd-1.5), signed with their
    evidence as the writer books them, into an empty demo ledger only; safe to repeat. Real
    demo events go through the whole pipeline: `up --demo`."""
    from services.demo_ledger import DemoLedgerError, book_sample_rewards

    with user_errors():
        try:
            new, total = book_sample_rewards(open_ledger(ctx, signing=True), events)
        except DemoLedgerError as exc:
            fail(str(exc))
    done(as_json, {"events": events, "booked": new, "already_booked": total - new, "sample": True},
         f"Booked {new} new demo transfers for {events} events ({total - new} were already booked).")
    say("These sample transfers are signed by a demo platform and worker whose keys sit in the key folder, and "
        "split by no model: they mean nothing, in a database kept for the demo (`fairsplit up --demo` runs events "
        "through the real pipeline).", to=err)


@app.command("reverse")
def reverse(
    ctx: typer.Context,
    event_id: str = typer.Argument(..., help="The event whose rewards are taken back (a lower-case UUID)."),
    reason: str = typer.Option(..., "--reason", help="Why (kept as the reversal's memo)."),
    as_json: bool = AS_JSON_OPTION,
) -> None:
    """Reverse every reward transfer of an event (a clawback); an event is reversed once."""
    if not is_event_id(event_id):
        fail(f"{event_id!r} is not an event id; event ids are lower-case UUIDs.")
    with user_errors():
        transfers = reverse_event(open_ledger(ctx, signing=True), event_id, reason)
    rows = [{"seq": t.seq, "id": t.id, "reverses_id": t.reverses_id, "from": t.debit_account, "to": t.credit_account,
             "amount": format_amount(t.amount, t.currency), "currency": t.currency} for t in transfers]
    if as_json:
        print_json({"event_id": event_id, "reason": reason, "reversals": rows})
        return
    out.print(table(f"Reversed {event_id}", ["seq", id_column("taken from"), id_column("returned to"),
                                            money_column("amount"), "cur"],
                    [(r["seq"], r["from"], r["to"], r["amount"], r["currency"]) for r in rows]))


def _signer_if_available(ctx: typer.Context, engine):
    """The active signing key from the key directory, or None when it is not there."""
    try:
        return load_signer(settings_of(ctx).key_dir, engine)
    except SigningKeyError:
        return None


@app.command("checkpoint")
def checkpoint(
    ctx: typer.Context,
    origin: str | None = setting("ledger_origin"),
    out_file: str | None = typer.Option(None, "--out", help="Also write the signed checkpoint note to this new file."),
    as_json: bool = AS_JSON_OPTION,
) -> None:
    """Extend the Merkle tree to the head and sign a checkpoint of it (append-only)."""
    with user_errors():
        settings = settings_of(ctx).merge(ledger_origin=origin)
        ledger = open_ledger(ctx, signing=True)
        stored = create_checkpoint(ledger.engine, ledger.signer, settings.ledger_origin or None)
    if out_file is not None:
        write_output(stored.note, out_file, what="the signed checkpoint")
    tree = stored.checkpoint
    if as_json:
        print_json({"origin": tree.origin, "tree_size": tree.size, "root_hash": tree.root_hash.hex(),
                    "key_id": stored.key_id, "issued_at": tree.issued_at, "note": stored.note})
    else:
        say(f"Checkpoint of {tree.origin} at tree size {tree.size}, root {tree.root_hash.hex()[:16]}…, "
            f"signed by key {stored.key_id}.")


@app.command("cosign")
def cosign(
    ctx: typer.Context,
    witnesses: str | None = setting("witnesses"),
    witness_quorum: int | None = setting("witness_quorum"),
    as_json: bool = AS_JSON_OPTION,
) -> None:
    """Ask the configured witnesses to cosign the newest checkpoint now (the writer and
    `payouts close` do it by themselves); exit 1 when fewer than the quorum cosigned."""
    with user_errors():
        settings = settings_of(ctx).merge(witnesses=witnesses, witness_quorum=witness_quorum)
        pool = witness_pool(settings)
        if pool is None:
            fail("no witnesses are configured: pass --witnesses or set FAIRSPLIT_WITNESSES.")
        outcomes = pool.cosign_latest(open_ledger(ctx).engine)
    holding = sum(outcome.status in ("cosigned", "up-to-date") for outcome in outcomes)
    if as_json:
        print_json({"witnesses": [outcome.as_dict() for outcome in outcomes], "quorum": pool.quorum,
                    "cosigned": holding})
    else:
        for outcome in outcomes:
            say(f"witness {outcome.witness}: {outcome.status}{' (' + outcome.detail + ')' if outcome.detail else ''}")
        say(f"{holding} of {len(outcomes)} witnesses hold a cosignature of the newest checkpoint (quorum {pool.quorum}).")
    if holding < pool.quorum:
        raise typer.Exit(1)


@app.command("prove")
def prove(
    ctx: typer.Context,
    entry: str = typer.Argument(..., help="The transfer's seq or id."),
    out_file: str = typer.Option(..., "--out", help="Where to write the proof (JSON; a new file); - for stdout."),
    since: int | None = typer.Option(None, "--since", min=0, max=2**63 - 1, help="Add a consistency proof from this tree size."),
) -> None:
    """Write an inclusion proof of one transfer with the signed checkpoint it is proven under."""
    with user_errors():
        engine = open_ledger(ctx).engine
        document = prove_inclusion(engine, entry, _signer_if_available(ctx, engine), since)
    write_output(json.dumps(document, indent=2, sort_keys=True) + "\n", out_file,
                 what=f"the inclusion proof of seq {document['entry']['seq']}")


@app.command("consistency")
def consistency(
    ctx: typer.Context,
    old_size: int = typer.Argument(..., min=0, max=2**63 - 1, help="Tree size of the older stored checkpoint."),
    new_size: int = typer.Argument(..., min=0, max=2**63 - 1, help="Tree size of the newer stored checkpoint."),
    out_file: str | None = typer.Option(None, "--out", help="Where to write the proof (JSON; a new file); stdout by default."),
) -> None:
    """Write a consistency proof between two stored checkpoints."""
    with user_errors():
        document = prove_consistency(open_ledger(ctx).engine, old_size, new_size)
    write_output(json.dumps(document, indent=2, sort_keys=True) + "\n", out_file,
                 what=f"the consistency proof {old_size} → {new_size}")
