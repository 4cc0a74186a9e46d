"""The pipeline from a platform's side and an operator's: `sign`, `emit`, `ingest`, `up`."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from commands.common import (broker_errors, check_input, err, fail, money_column, open_ledger, out, print_json,
                             ready_engine, read_input, say, settings_of, table, user_errors, write_output)
from commands.options import AS_JSON, setting
from commands.progress import Activity
from commands.report import done
from commands.serve import kafka_settings
from commands.wiring import worker_task, writer_task
from ledger.crypto import canonical_text, key_id, read_private_key
from ledger.money import format_amount
from services.contracts import ContractError, load_json_object

app = typer.Typer()


@app.command("sign")
def sign_command(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="JSONL file of generation events."),
    platform: str = typer.Option(..., "--platform", help="The platform the events are for."),
    key: Path = typer.Option(..., "--key", help="The platform's private key (PKCS#8 PEM, mode 0600)."),
    out_file: str | None = typer.Option(None, "--out", help="Write to this new file instead of stdout."),
    routes: str | None = setting("routes"),
) -> None:
    """Sign events for a platform, after checking everything admission will check (all or none are written)."""
    from services.admission import Gate, sign_admissible
    from services.routes import parse_routes
    from services.lookups import RegistryLookups

    with user_errors():
        settings = settings_of(ctx).merge(routes=routes)
        private = read_private_key(key)
        lookups = RegistryLookups(ready_engine(ctx))
        active = lookups.platform_keys(platform)
        if active is None:
            fail(f"platform {platform!r} is not registered.")
        if all(key_id(public) != key_id(private.public_key()) for public in active):
            fail(f"{key} holds key {key_id(private.public_key())}, which is not an active key of platform:{platform}.")
        gate = Gate(lookups.platform_keys, lookups.known_artists, parse_routes(settings.routes), settings.event_window,
                    max_event_work=settings.max_event_work)
        lines, problems = sign_admissible(read_input(file, "event file", 1 << 30).splitlines(), platform, private, gate)
        if problems:  # every bad line is named, and nothing is written
            from services.safe_text import printable_line

            for number, exc in problems[:100]:
                say(f"line {number}: {printable_line(_with_suggestion(lookups.engine, exc))}", to=err)
            fail(f"{len(problems)} of {len(lines) + len(problems)} events would be refused (listed above); "
                 "nothing was written.")
    text = "".join(line + "\n" for line in lines)
    write_output(text, out_file, what=f"{len(lines)} events signed for platform:{platform}")


def _with_suggestion(engine, exc: Exception) -> str:
    """The reason, with the registered artists closest to any that is not registered."""
    from commands.suggest import did_you_mean

    reason = str(exc)
    if getattr(exc, "kind", None) == "unknown_artist":
        names = reason.split(": ", 1)[-1].rstrip(".").split(", ")
        hints = "".join(did_you_mean(engine, "artist", name) for name in names[:5])
        reason = reason.rstrip(".") + hints + "."
    return reason


@app.command("emit")
def emit_command(
    ctx: typer.Context,
    file: Path | None = typer.Argument(None, help="JSONL file of signed events to publish."),
    sample: int | None = typer.Option(None, "--sample", min=1, max=100_000, help="Publish N signed sample events instead."),
    platform: str = typer.Option("demo-platform", "--platform", help="Platform of the sample events."),
    key: Path | None = typer.Option(None, "--key", help="Private key to sign the sample events with (mode 0600)."),
    bootstrap: str | None = setting("bootstrap"),
    partitions: int | None = setting("partitions"),
    topic_prefix: str | None = setting("topic_prefix"),
    as_json: bool = AS_JSON,
) -> None:
    """Publish events to generation.events (key = event_id), as a platform would."""
    from services.demo import sample_events
    from services.runners import emit

    if (file is None) == (sample is None):
        fail("give either an event FILE or --sample N.")
    with user_errors():
        settings = settings_of(ctx).merge(bootstrap=bootstrap, partitions=partitions, topic_prefix=topic_prefix)
        if sample is not None:
            if key is None:
                fail("--sample needs --key, the platform's private key file (see `fairsplit platforms add`).")
            records = [canonical_text(e).encode() for e in sample_events(sample, read_private_key(key), platform)]
        else:
            records = [line for line in read_input(file, "event file", 1 << 30).splitlines() if line.strip()]
    keys = []
    for record in records:
        try:
            event_id = load_json_object(record, "event").get("event_id")
        except ContractError:
            event_id = None  # published as is: the worker dead-letters it with its reason
        keys.append(event_id.encode() if isinstance(event_id, str) and len(event_id) <= 64 else None)
    kafka = kafka_settings(settings)
    with broker_errors(kafka.bootstrap):
        sent = emit(kafka, records, keys)
    done(as_json, {"published": sent, "topic": kafka.events, "bootstrap": kafka.bootstrap},
         f"{sent} events published to {kafka.events}.")


@app.command("ingest")
def ingest_command(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="JSONL file of signed generation events."),
    as_json: bool = typer.Option(False, "--json", help="Print the per-line report as JSON."),
    routes: str | None = setting("routes"),
    tau: float | None = setting("tau"),
    mode: str | None = setting("mode"),
    batch_size: int = typer.Option(8, "--batch-size", min=1, max=4096, help="Events attributed together."),
) -> None:
    """Event → attribution → ledger without a broker (backfills, replays), through the services' own steps.

    Rejected lines go to FILE.dlq.jsonl; exit 1 when any line was rejected."""
    from ledger.views.accounts import paid_by_test_models
    from services.ingest import DeadLetterFileError, check_dead_letter_file, count_lines, dead_letter_path, ingest

    check_input(file, "event file")
    try:
        check_dead_letter_file(dead_letter_path(file))
    except DeadLetterFileError as exc:
        fail(str(exc))
    logging.getLogger("fairsplit").setLevel(logging.CRITICAL)  # each line's fate is reported below, not logged
    reports = []
    with user_errors():
        settings = settings_of(ctx).merge(routes=routes, tau=tau, mode=mode)
        worker = worker_task(settings, ready_engine(ctx))
        writer = writer_task(settings, open_ledger(ctx, signing=True))
        total = count_lines(file)
        with Activity(f"ingesting {file.name}", total, enabled=True) as activity:
            def on_line(report) -> None:
                reports.append(report)
                activity.advance()
                if not as_json:
                    _print_line(report)

            try:
                letters = ingest(file, worker, writer, on_line, finish=worker.finish, batch_size=batch_size,
                                 keep_alive=activity.tick)
            except KeyboardInterrupt:
                _interrupted(file, reports, total)
    counts = {status: sum(r.status == status for r in reports) for status in ("recorded", "duplicate", "rejected")}
    dlq = str(letters.path) if letters.count else None
    with user_errors():
        paid = [r.event_id for r in reports if r.status != "rejected" and r.event_id]
        test_model = bool(paid) and paid_by_test_models(ready_engine(ctx), event_ids=paid)
    if as_json:
        print_json({"lines": [r.as_dict() for r in reports], "counts": counts, "dead_letters": dlq,
                    "test_model": test_model})
    else:
        say(f"{counts['recorded']} recorded, {counts['duplicate']} duplicate, {counts['rejected']} rejected"
            + (f"; rejected lines with reasons in {dlq}" if dlq else "")
            + ("; split by a test model: those shares mean nothing" if test_model else ""))
    raise typer.Exit(1 if counts["rejected"] else 0)


def _interrupted(file: Path, reports: list, total: int):
    """Ctrl-C during `ingest`: say what was done and how to resume, exit 130."""
    counts = {status: sum(r.status == status for r in reports) for status in ("recorded", "duplicate", "rejected")}
    say(f"interrupted after {len(reports)} of {total} lines ({counts['recorded']} recorded, {counts['duplicate']} "
        f"duplicate, {counts['rejected']} rejected); run `fairsplit ingest {file}` again to resume: what is recorded "
        "is skipped and nothing is paid twice.", to=err)
    raise typer.Exit(130)


def _print_line(report) -> None:
    style = {"recorded": "green", "duplicate": "yellow", "rejected": "red"}[report.status]
    from services.safe_text import printable_line

    reason = f": {printable_line(report.reason)}" if report.reason else ""
    event = report.event_id or "(no valid event id)"
    say(f"line {report.line}: {report.status} {event}{reason}", style)


@app.command("up")
def up_command(
    ctx: typer.Context,
    demo: bool = typer.Option(False, "--demo", help="Register a demo platform and artists, emit signed sample events, print balances, stop."),
    fresh: bool = typer.Option(False, "--fresh", help="Demo: start over in a new database (the old SQLite file is kept aside)."),
    events: int = typer.Option(12, "--events", min=1, max=10_000, help="Sample events the demo emits."),
    bootstrap: str | None = setting("bootstrap"),
    tau: float | None = setting("tau"),
    state_dir: Path = typer.Option(Path(".fairsplit"), "--state-dir", help="Logs, dead letters and demo galleries."),
    timeout_s: float = typer.Option(300.0, "--timeout", min=1, max=86_400, help="How long the demo waits for its events."),
    quiet: bool = typer.Option(False, "--quiet", help="No line per booked or rejected event."),
    as_json: bool = typer.Option(False, "--json", help="Demo: print the balances as JSON."),
) -> None:
    """The embedded stack: a local broker (unless --bootstrap), the attribution worker and the ledger writer.

    Prints a line per booked or rejected event (dead letters are kept in STATE_DIR/dead-letters.jsonl,
    `fairsplit dead-letters` shows them). Ctrl-C or SIGTERM stop the services and the broker together."""
    from ledger.books.db import make_engine
    from ledger.books.events import count_recorded, recorded_since
    from ledger.initialise import initialise
    from services.demo import DEMO_PLATFORM, demo_outcome, sample_events, setup_demo
    from services.runners import emit
    from services.kafka import dlq_topic
    from services.watch import PipelineWatch, wait_until_recorded, watch_until_stopped
    from services.stack import recorded_stack, stop_on_signals
    from services.tansu import BrokerNotFound, BrokerStartError

    stop_on_signals()
    with user_errors():
        settings = settings_of(ctx).merge(bootstrap=bootstrap, tau=tau)
        if fresh:
            if not demo:
                fail("--fresh starts a new demo; use it with --demo.")
            kept = _set_aside(settings.database_url)
            if kept:
                say(f"kept the previous demo database as {kept}", to=err)
        engine = make_engine(settings.database_url)
        initialise(engine, settings.key_dir)  # what `fairsplit init` does: idempotent
        if demo:
            before = count_recorded(engine, None)
            with Activity("registering the demo platform and artists (rendering their galleries)"):
                platform_key = setup_demo(engine, Path(settings.key_dir), state_dir, settings.model_sources)
            say(f"added {events} demo events to the {before} already in {_where(settings.database_url)} "
                "(balances are running totals; --fresh starts over)" if before else
                f"started a new demo in {_where(settings.database_url)}", to=err)
        else:
            worker_task(settings, engine)  # refuses now, with a sentence, if the worker key is not enrolled
    child = {**settings.to_env(), "FAIRSPLIT_KAFKA_SESSION_TIMEOUT_MS": "6000", "FAIRSPLIT_KAFKA_PARTITIONS": "2"}
    dead_letters = state_dir / "dead-letters.jsonl"
    try:
        with Activity("starting the broker and the services") as activity, \
                recorded_stack(child, state_dir, settings.bootstrap or None, settings.tansu_bin or None) as stack:
            say(f"broker at {stack.bootstrap} (recorded in {state_dir}, so `emit`, `serve`, `dead-letters --topic` "
                f"and `status` find it); services logging to {state_dir / 'logs'}", to=err)
            kafka = kafka_settings(settings.merge(bootstrap=stack.bootstrap))
            watch = PipelineWatch(lambda since: _read(recorded_since, engine, since), stack.bootstrap,
                                  [dlq_topic(kafka.events), dlq_topic(kafka.results)], dead_letters)

            def show(lines: list[str]) -> None:
                for line in lines if not quiet else ():
                    activity.note(line)

            if not demo:
                activity.step("running; Ctrl-C (or SIGTERM) stops the services and the broker")
                watch_until_stopped(stack, watch, show)
            signed = sample_events(events, platform_key, DEMO_PLATFORM)
            with broker_errors(stack.bootstrap):
                emit(kafka_settings(settings.merge(bootstrap=stack.bootstrap, partitions=2)),
                     [canonical_text(e).encode() for e in signed], [e["event_id"].encode() for e in signed])
            ids = [e["event_id"] for e in signed]
            activity.step("attributing and recording the demo events", len(ids))
            landed = wait_until_recorded(stack, watch, show, lambda: _read(count_recorded, engine, ids), len(ids),
                                         timeout_s, activity.update)
            watch.close()
    except KeyboardInterrupt:
        if demo:  # what was done, and how to go on
            with user_errors():
                now = count_recorded(engine, None)
            say(f"stopped: {now - before} demo events were recorded in this run and stay ({now} in all); "
                "`fairsplit up --demo` adds more, `fairsplit events list` shows them.", to=err)
        else:
            say("stopped.", to=err)
        raise typer.Exit(0 if not demo else 1) from None
    except (BrokerNotFound, BrokerStartError, RuntimeError) as exc:
        fail(str(exc).rstrip(".") + ".")
    with user_errors():
        outcome = demo_outcome(open_ledger(ctx), ids)
    rows, report, test_model = outcome.balances, outcome.verified, outcome.test_model
    note = "Test model (tiny): these shares and balances mean nothing; they show the path works." if test_model else None
    if as_json:
        print_json({"balances": [{"account": a, "currency": c, "amount": format_amount(m, c)} for a, c, m in rows],
                    "recorded": landed, "emitted": len(ids), "test_model": test_model, "ledger_intact": report.ok})
    else:
        from ledger.statements.files import fixed_decimals

        shown = {c: fixed_decimals(lambda micros, c=c: format_amount(micros, c), [m for _, cc, m in rows if cc == c])
                 for _, c, _ in rows}  # one number of decimals per currency: "0.100", never "0.10" beside "0.004"
        owes = f"platform:{DEMO_PLATFORM} is negative by the rewards it paid: a platform's balance is what it owes."
        out.print(table("Balances (running totals of this database)", ["account", money_column("balance")],
                        [(a, f"{shown[c](m)} {c}") for a, c, m in rows],
                        caption=" ".join(part for part in (note, owes if any(m < 0 for _, _, m in rows) else None)
                                         if part)))
        say(f"{landed} of {len(ids)} events recorded; ledger verify: "
            f"{'intact' if report.ok else 'BROKEN at seq ' + str(report.bad_seq)} ({report.checked} entries).")
    if landed < len(ids) or not report.ok:
        raise typer.Exit(1)


def _read(read, *args):
    """A ledger read while `up` runs: a database problem is one sentence, then exit 2."""
    with user_errors():
        return read(*args)


def _set_aside(database_url: str) -> Path | None:
    """`--fresh`: move an existing SQLite demo database aside (never delete it)."""
    from datetime import UTC, datetime

    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        fail("--fresh starts over in a new SQLite database; for PostgreSQL, point --database-url at a new database.")
    path = Path(url.database or "")
    if not url.database or not path.exists():
        return None
    kept = path.with_name(f"{path.name}.{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}.old")
    for suffix in ("", "-wal", "-shm"):
        part = Path(f"{path}{suffix}")
        if part.exists():
            part.rename(Path(f"{kept}{suffix}"))
    return kept


def _where(database_url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(database_url).render_as_string(hide_password=True)
