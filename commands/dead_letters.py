"""`fairsplit dead-letters [FILE | replay FILE | --topic]`: what the services could not
process, named by event id and reason, and submitted again once the cause is fixed.

Replaying is safe to repeat: the worker skips what is recorded and the writer books an
event once, so an event replayed twice (or already booked) is paid once.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import typer

from commands.common import (broker_errors, check_input, err, fail, open_ledger, print_json, ready_engine, say,
                             settings_of, user_errors)
from commands.options import setting
from services.broker_record import DEFAULT_STATE_DIR

app = typer.Typer()

QUIET_S = 3.0  # reading a topic ends once nothing new arrived for this long (unless --follow)


@app.command("dead-letters")
def dead_letters_command(
    ctx: typer.Context,
    what: str | None = typer.Argument(None, metavar="[FILE | replay FILE]",
                                      help="A dead-letter file (FILE.dlq.jsonl of `ingest`, or `up`'s); "
                                           "`replay FILE` submits its events again."),
    file: Path | None = typer.Argument(None, metavar="", help="With replay: the dead-letter file.", show_default=False),
    topic: bool = typer.Option(False, "--topic", help="Read (or replay) the dead-letter topics of the broker: "
                               "--bootstrap, or that of the `fairsplit up` running in this folder."),
    state_dir: Path = typer.Option(DEFAULT_STATE_DIR, "--state-dir", help="Where `fairsplit up` keeps them."),
    bootstrap: str | None = typer.Option(None, "--bootstrap", help="Read the dead-letter topics of this broker instead."),
    topic_prefix: str = typer.Option("", "--topic-prefix", help="With --bootstrap: the services' topic prefix."),
    follow: bool = typer.Option(False, "--follow", help="Keep showing new ones until Ctrl-C."),
    as_json: bool = typer.Option(False, "--json", help="One dead-letter record per line (fairsplit.deadletter.v1, "
                                 "with the event_id it is about)."),
    routes: str | None = setting("routes"),
    mode: str | None = setting("mode"),
) -> None:
    """Show the records the services could not process (event id and reason), or replay them."""
    signal.signal(signal.SIGTERM, _interrupt)
    replay = what == "replay"
    path = file if replay else (Path(what) if what else None)
    if file is not None and not replay:
        fail(f"unexpected argument {str(file)!r}: give one FILE, or `replay FILE`.")
    use_topic = topic or bool(bootstrap)
    if use_topic and path is not None:
        fail("give either a dead-letter FILE or --topic, not both.")
    if replay and path is None and not use_topic:
        fail("`dead-letters replay` needs a dead-letter FILE or --topic.")
    try:
        if replay and use_topic:
            _replay_topic(ctx, bootstrap, topic_prefix, as_json)
        elif replay:
            _replay_file(ctx, path, as_json, routes, mode)
        elif use_topic:
            _show_topic(ctx, bootstrap, topic_prefix, follow, as_json)
        else:
            _show_file(path or state_dir / "dead-letters.jsonl", path is None, follow, as_json)
    except KeyboardInterrupt:
        say("stopped.", to=err)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _show(letter, as_json: bool) -> None:
    from services.dead_letters import as_dict, describe

    if as_json:
        sys.stdout.write(json.dumps(as_dict(letter), sort_keys=True) + "\n")
        sys.stdout.flush()
    else:
        say(f"{letter.failed_at.isoformat(timespec='seconds')} {describe(letter)}")


def _letters(path: Path):
    """The letters of a file; lines that are not letters are reported on stderr."""
    from services.dead_letters import BadLine, read_dead_letter_file

    with user_errors():
        for item in read_dead_letter_file(path):
            if isinstance(item, BadLine):
                say(f"{path} line {item.line}: not a dead letter ({item.problem})", to=err)
            else:
                yield item


def _show_file(path: Path, default: bool, follow: bool, as_json: bool) -> None:
    if not path.exists() and not follow:
        if default:
            say(f"No dead letters: {path} does not exist (`fairsplit up` writes it).")
            return
        fail(f"dead-letter file {path} does not exist.")
    if not follow:
        check_input(path, "dead-letter file")
        for letter in _letters(path):
            _show(letter, as_json)
        return
    seen = 0
    while True:  # --follow: show what was appended, until Ctrl-C
        letters = list(_letters(path)) if path.exists() else []
        for letter in letters[seen:]:
            _show(letter, as_json)
        seen = len(letters)
        time.sleep(1)


def _kafka(ctx: typer.Context, bootstrap: str | None, topic_prefix: str):
    from commands.serve import kafka_settings

    settings = settings_of(ctx)
    if bootstrap:
        settings = settings.merge(bootstrap=bootstrap)
    return kafka_settings(settings.merge(topic_prefix=topic_prefix) if topic_prefix else settings)


def _read_topic(kafka, follow: bool, on_letter) -> None:
    from services.kafka import dlq_topic
    from services.watch import DeadLetterTail

    tail = DeadLetterTail(kafka.bootstrap, [dlq_topic(kafka.events), dlq_topic(kafka.results)])
    try:
        quiet_since = time.monotonic()
        while follow or time.monotonic() - quiet_since < QUIET_S:
            letters = [letter for letter in tail.poll(500) if not isinstance(letter, bytes)]
            if letters:
                quiet_since = time.monotonic()
            for letter in letters:
                on_letter(letter)
    finally:
        tail.close()


def _show_topic(ctx: typer.Context, bootstrap: str | None, topic_prefix: str, follow: bool, as_json: bool) -> None:
    kafka = _kafka(ctx, bootstrap, topic_prefix)
    with broker_errors(kafka.bootstrap):
        _read_topic(kafka, follow, lambda letter: _show(letter, as_json))


def _replay_topic(ctx: typer.Context, bootstrap: str | None, topic_prefix: str, as_json: bool) -> None:
    """Publish each letter's original record again to the topic it came from (only the
    services' own input topics: a letter cannot send a record anywhere else)."""
    import base64

    from services.dead_letters import event_id_of
    from services.runners import emit_to

    kafka = _kafka(ctx, bootstrap, topic_prefix)
    letters = []
    with broker_errors(kafka.bootstrap):
        _read_topic(kafka, False, letters.append)
        by_topic: dict[str, list] = {kafka.events: [], kafka.results: []}
        for letter in letters:
            if letter.source.topic in by_topic:
                key = base64.b64decode(letter.key_base64) if letter.key_base64 else None
                by_topic[letter.source.topic].append((key, letter.original, event_id_of(letter)))
        for name, records in by_topic.items():
            if records:
                emit_to(kafka, name, [value for _, value, _ in records], [key for key, _, _ in records])
    replayed = [{"event_id": event, "topic": name} for name, records in by_topic.items() for _, _, event in records]
    if as_json:
        print_json({"replayed": replayed, "letters": len(letters)})
        return
    for item in replayed:
        say(f"replayed event {item['event_id'] or '(no valid event id)'} to {item['topic']}")
    say(f"{len(replayed)} of {len(letters)} dead letters submitted again to {kafka.events} and {kafka.results}; "
        "an event already booked is not paid twice (`fairsplit events show EVENT_ID` tells what became of one).")


def _replay_file(ctx: typer.Context, path: Path, as_json: bool, routes: str | None, mode: str | None) -> None:
    """Run the events of a dead-letter file through the services' steps again, in process;
    what is refused again is appended to the same file."""
    import logging

    from commands.wiring import worker_task, writer_task
    from services.ingest import DeadLetterFile, DeadLetterFileError, check_dead_letter_file, ingest_lines

    check_input(path, "dead-letter file")
    try:
        check_dead_letter_file(path)
    except DeadLetterFileError as exc:
        fail(str(exc))
    letters = list(_letters(path))
    events = [(n, letter.original) for n, letter in enumerate(letters, start=1) if letter.service != "ledger-writer"]
    skipped = len(letters) - len(events)
    logging.getLogger("fairsplit").setLevel(logging.CRITICAL)  # each event's fate is reported below
    reports = []
    with user_errors():
        settings = settings_of(ctx).merge(routes=routes, mode=mode)
        worker = worker_task(settings, ready_engine(ctx))
        writer = writer_task(settings, open_ledger(ctx, signing=True))
        letters_out = ingest_lines(str(path), events, worker, writer, reports.append, finish=worker.finish,
                                   dead_letters=DeadLetterFile(path))
    counts = {status: sum(r.status == status for r in reports) for status in ("recorded", "duplicate", "rejected")}
    if as_json:
        print_json({"events": [r.as_dict() for r in reports], "counts": counts, "skipped": skipped,
                    "dead_letters": str(path) if letters_out.count else None})
    else:
        from services.safe_text import printable_line

        for report in reports:
            reason = f": {printable_line(report.reason)}" if report.reason else ""
            say(f"event {report.event_id or '(no valid event id)'}: {report.status}{reason}")
        say(f"replayed {len(events)} events: {counts['recorded']} recorded, {counts['duplicate']} already recorded "
            f"(paid once), {counts['rejected']} rejected again (appended to {path})"
            + (f"; {skipped} results of the ledger writer skipped (replay them with --topic)" if skipped else "") + ".")
    if counts["rejected"]:
        raise typer.Exit(1)
