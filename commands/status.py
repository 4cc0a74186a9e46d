"""`fairsplit status`: the stack at a glance — the broker and the services of the `up`
running in this folder, each group's lag per partition, the dead letters, and the ledger's
newest checkpoint with its cosignatures — as text or `--json`."""

from __future__ import annotations

from pathlib import Path

import typer

from commands.common import err, id_column, out, print_json, say, settings_of, table
from commands.options import AS_JSON, setting
from services.broker_record import DEFAULT_STATE_DIR

app = typer.Typer()


def _count_lines(path: Path) -> int | None:
    from services.dead_letters import BadLine, read_dead_letter_file

    if not path.is_file():
        return None
    try:
        return sum(not isinstance(item, BadLine) for item in read_dead_letter_file(path))
    except OSError:
        return None


def _broker(settings, record) -> dict:
    from kafka.errors import KafkaError

    from services.runners import KafkaSettings
    from services.stack_status import broker_status

    bootstrap = settings.bootstrap or (record.bootstrap if record else "")
    if not bootstrap:
        return {"bootstrap": None, "reachable": False,
                "problem": "no broker: no `fairsplit up` runs in this folder and no --bootstrap was given"}
    kafka = KafkaSettings(bootstrap, settings.partitions, prefix=settings.topic_prefix)
    try:
        return {**broker_status(kafka).as_dict(), "reachable": True}
    except (KafkaError, OSError) as exc:
        return {"bootstrap": bootstrap, "reachable": False, "problem": f"unreachable ({type(exc).__name__})"}


def _ledger(settings) -> dict:
    from sqlalchemy.exc import SQLAlchemyError

    from ledger.books.db import check_ready, make_engine
    from ledger.errors import LedgerError, first_line
    from ledger.views.head import head_status

    try:
        engine = make_engine(settings.database_url)
        check_ready(engine)
        return {"ready": True, **head_status(engine)}
    except (LedgerError, SQLAlchemyError) as exc:
        return {"ready": False, "problem": first_line(exc, 200)}


@app.command("status")
def status(
    ctx: typer.Context,
    state_dir: Path = typer.Option(DEFAULT_STATE_DIR, "--state-dir", help="Where `fairsplit up` keeps its state."),
    bootstrap: str | None = setting("bootstrap"),
    topic_prefix: str | None = setting("topic_prefix"),
    as_json: bool = AS_JSON,
) -> None:
    """The stack: broker, services, consumer lag per partition, dead letters, last checkpoint and cosignatures."""
    from services.broker_record import alive, read_record

    settings = settings_of(ctx).merge(bootstrap=bootstrap, topic_prefix=topic_prefix)
    record = read_record(state_dir)
    report = {
        "up": record and {"pid": record.pid, "started_at": record.started_at, "bootstrap": record.bootstrap},
        "services": {name: {"pid": pid, "running": alive(pid)} for name, pid in (record.services or {}).items()}
        if record else {},
        "broker": _broker(settings, record),
        "dead_letter_file": {"path": str(state_dir / "dead-letters.jsonl"),
                             "letters": _count_lines(state_dir / "dead-letters.jsonl")},
        "ledger": _ledger(settings),
    }
    if as_json:
        print_json(report)
        return
    _print(report)


def _print(report: dict) -> None:
    up, broker, ledger = report["up"], report["broker"], report["ledger"]
    say(f"up: pid {up['pid']} since {up['started_at']}" if up else "up: not running in this folder")
    for name, service in report["services"].items():
        say(f"service {name}: pid {service['pid']} {'running' if service['running'] else 'STOPPED'}")
    if broker.get("reachable"):
        say(f"broker: {broker['bootstrap']} reachable")
        out.print(table("Consumer lag", [id_column("group"), "topic", "partition", "committed", "end", "lag"],
                        [(p["group"], p["topic"], p["partition"], "-" if p["committed"] is None else p["committed"],
                          p["end"], p["lag"]) for p in broker["lag"]]))
        say("dead letters: " + ", ".join(f"{topic} {count}" for topic, count in broker["dead_letters"].items()))
    else:
        where = f"{broker['bootstrap']}: " if broker.get("bootstrap") else ""
        say(f"broker: {where}{broker['problem']}", to=err)
    letters = report["dead_letter_file"]
    if letters["letters"] is not None:
        say(f"dead-letter file: {letters['path']} ({letters['letters']} letters; `fairsplit dead-letters` shows them)")
    if not ledger["ready"]:
        say(f"ledger: {ledger['problem']}", to=err)
    elif ledger["checkpoint"] is None:
        say(f"ledger: {ledger['entries']} entries; no checkpoint yet (`fairsplit ledger checkpoint`)")
    else:
        checkpoint = ledger["checkpoint"]
        witnesses = ", ".join(checkpoint["cosigned_by"]) or "no witness"
        say(f"ledger: {ledger['entries']} entries; last checkpoint at size {checkpoint['size']} "
            f"({checkpoint['behind']} newer entries), signed by key {checkpoint['key_id']}"
            f"{' at ' + checkpoint['issued_at'].isoformat(timespec='seconds') if checkpoint['issued_at'] else ''}; "
            f"cosigned by {witnesses}")
