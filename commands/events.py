"""`fairsplit events show|list`: one event's story, and lists of events, from the database
as recorded (nothing is re-rendered; `explain` draws the picture)."""

from __future__ import annotations

from pathlib import Path

import typer

from commands.common import (fail, id_column, money_column, out, print_json, ready_engine, say, table, text_column,
                             user_errors)
from commands.options import AS_JSON
from ledger.ids import is_event_id
from ledger.money import format_amount
from services.broker_record import DEFAULT_STATE_DIR
from services.safe_text import printable_line

app = typer.Typer(help="What became of events: one event's story, lists with filters.", no_args_is_help=True)


def _refusal(event_id: str, files: list[Path]) -> dict | None:
    """The dead letter that names `event_id` in one of `files`, if any (the newest wins)."""
    from services.dead_letters import BadLine, event_id_of, read_dead_letter_file

    found = None
    for path in files:
        if not path.is_file():
            continue
        with user_errors():
            for letter in read_dead_letter_file(path):
                if not isinstance(letter, BadLine) and event_id_of(letter) == event_id:
                    found = {"reason": letter.reason, "service": letter.service, "failed_at": letter.failed_at,
                             "dead_letter_file": str(path)}
    return found


@app.command("show")
def show(
    ctx: typer.Context,
    event_id: str = typer.Argument(..., help="The event (a lower-case UUID)."),
    dead_letters: list[Path] | None = typer.Option(
        None, "--dead-letters", help="Dead-letter files to look in when the event is not recorded (repeatable; "
        "default: .fairsplit/dead-letters.jsonl of `fairsplit up`)."),
    as_json: bool = AS_JSON,
) -> None:
    """An event's story: recorded or refused (and why), its attribution, the transfers it booked, their period."""
    from ledger.views.events import event_story

    if not is_event_id(event_id):
        fail(f"{printable_line(event_id, 80)!r} is not an event id; event ids are lower-case UUIDs.")
    with user_errors():
        story = event_story(ready_engine(ctx), event_id)
    if story is None:
        refused = _refusal(event_id, dead_letters or [DEFAULT_STATE_DIR / "dead-letters.jsonl"])
        if refused is None:
            fail(f"event {event_id} is not recorded in this ledger, nor refused in "
                 f"{', '.join(str(p) for p in dead_letters or [DEFAULT_STATE_DIR / 'dead-letters.jsonl'])}.")
        if as_json:
            print_json({"event_id": event_id, "status": "refused", **refused})
        else:
            say(f"Event {event_id}: refused by the {printable_line(refused['service'], 64)} at "
                f"{refused['failed_at'].isoformat(timespec='seconds')}: {printable_line(refused['reason'])} "
                f"(dead letter in {refused['dead_letter_file']}; `fairsplit dead-letters replay` once fixed).")
        return
    if as_json:
        print_json(_json_story(story))
        return
    _print_story(story)


def _json_story(story: dict) -> dict:
    currency = story["currency"]
    return {**story, "reward": format_amount(story["reward_amount"], currency),
            "payees": {a: format_amount(m, currency) for a, m in story["payees"].items()},
            "transfers": [{**t, "amount": format_amount(t["amount"], t["currency"])} for t in story["transfers"]]}


def _print_story(story: dict) -> None:
    currency = story["currency"]
    method = story["attribution"]["method"]
    say(f"Event {story['event_id']}: {story['status']}; recorded {story['recorded_at'].isoformat(timespec='seconds')} "
        f"from platform:{story['platform_id']} (model {printable_line(story['model_id'], 80)}, occurred "
        f"{story['occurred_at'].isoformat(timespec='seconds')}), reward {format_amount(story['reward_amount'], currency)} "
        f"{currency}.")
    say(f"content: {printable_line(story['content'])}")
    say(f"attribution {story['attribution_id']}: {method.get('estimator', '?')} Shapley, profile "
        f"{method.get('profile', '?')}, value function {method.get('value_function', '?')}, tau {method.get('tau', '?')}, "
        f"value correction {method.get('value_correction', 'none')}"
        + ("; TEST MODEL: the shares mean nothing" if method.get("test_model") else "") + ".")
    shares = story["attribution"]["shares"]
    out.print(table("Players", [id_column("account"), "recognised", money_column("share")],
                    [(p.get("account"), "yes" if p.get("recognised") else "no (earns 0)",
                      f"{float(shares.get(p.get('account'), 0.0)):.4f}") for p in story["attribution"]["players"]]))
    out.print(table("Transfers", ["seq", "kind", id_column("from", 2), id_column("to"), money_column("amount"), "cur",
                                  text_column("period", 1), "status"],
                    [(t["seq"], t["kind"], t["from"], t["to"], format_amount(t["amount"], t["currency"]), t["currency"],
                      t["period"] + (" (late)" if t["late"] else ""), t["period_status"]) for t in story["transfers"]]))


@app.command("list")
def list_command(
    ctx: typer.Context,
    platform: str | None = typer.Option(None, "--platform", help="Only this platform's events."),
    artist: str | None = typer.Option(None, "--artist", help="Only events that paid this artist."),
    status: str | None = typer.Option(None, "--status", help="pending, closed or reversed."),
    period: str | None = typer.Option(None, "--period", help="Only events that occurred in this period, e.g. 2026-11."),
    limit: int = typer.Option(50, "--limit", min=1, max=1000, help="At most this many events."),
    after: str | None = typer.Option(None, "--after", help="Continue after this event id (the previous page's last)."),
    as_json: bool = AS_JSON,
) -> None:
    """Recorded events, newest first, with filters and pages."""
    from ledger.books.accounts import resolve_account
    from ledger.views.events import STATUSES, list_events
    from ledger.payouts.periods import parse_period

    if status is not None and status not in STATUSES:
        fail(f"--status must be one of {', '.join(STATUSES)}.")
    if after is not None and not is_event_id(after):
        fail("--after must be an event id (lower-case UUID), the last of the previous page.")
    with user_errors():
        account = resolve_account(artist) if artist else None
        if account is not None and not account.startswith("artist:"):
            fail(f"--artist {printable_line(artist, 80)!r} is not an artist.")
        artist_id = account.split(":", 1)[1] if account else None
        target = parse_period(period) if period else None
        try:
            page = list_events(ready_engine(ctx), platform=platform, artist=artist_id, status=status, period=target,
                               limit=limit, after=after)
        except LookupError as exc:
            fail(str(exc))
    if as_json:
        print_json({"events": [{**e, "reward": format_amount(e["reward_amount"], e["currency"]),
                                "payees": {a: format_amount(m, e["currency"]) for a, m in e["payees"].items()}}
                               for e in page.events], "next_after": page.next_after})
        return
    out.print(table(None, [id_column("event"), text_column("recorded", 2), text_column("platform", 3),
                           money_column("reward"), "cur", "status", text_column("payees", 1)],
                    [(e["event_id"], e["recorded_at"].isoformat(timespec="seconds"), e["platform_id"],
                      format_amount(e["reward_amount"], e["currency"]), e["currency"], e["status"],
                      ", ".join(e["payees"])) for e in page.events]))
    say(f"{len(page.events)} events" + (f"; next page: --after {page.next_after}" if page.next_after else "") + ".")
