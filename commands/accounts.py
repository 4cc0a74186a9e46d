"""`fairsplit balance` and `fairsplit history`: what an account holds and what moved it."""

from __future__ import annotations

import json

import typer

from commands.common import (Col, fail, id_column, line_width, money_column, open_ledger, out, print_json, say,
                             settings_of, table, text_column, user_errors, write_output)
from commands.options import AS_JSON
from ledger.views.accounts import account_history, account_known, paid_by_test_models, paid_totals, period_balances
from ledger.books.accounts import resolve_account
from ledger.errors import SigningKeyError
from ledger.keys.signing import load_signer
from ledger.money import format_amount
from ledger.payouts.periods import parse_period
from ledger.transparency.tree import verify_checkpoints
from ledger.transparency.proving import balance_bundle
from commands.period_proof import verified_period_bundle
from ledger.audit.chain import verify_ledger

app = typer.Typer()

ACCOUNT = typer.Argument(..., help="artist:<id>, model:<id>, platform:<id>, payouts:<CUR>, or a bare artist id.")
TEST_MODEL_NOTE = "Includes rewards split by a test model (tiny or world): those shares mean nothing."


def known_account(engine, text: str) -> str:
    """The account a person named, refused with a sentence when the ledger does not know it."""
    name = resolve_account(text)
    if not account_known(engine, name):
        from commands.suggest import did_you_mean

        what = "has never been paid" if name.startswith("model:") else "is not registered"
        kind, _, typed = name.partition(":")
        fail(f"{name} {what} in this ledger{did_you_mean(engine, kind, typed)}.")
    return name


@app.command()
def balance(
    ctx: typer.Context,
    account: str = ACCOUNT,
    period: str | None = typer.Option(None, "--period", help="One period (e.g. 2026-11): opening, earned, paid, pending."),
    as_json: bool = AS_JSON,
    proof: str | None = typer.Option(None, "--proof", help="Also write a balance bundle (entries + proofs + checkpoint) to this new file; "
                                     "with --period, of that period only (signed opening, its entries, closing)."),
    since: int | None = typer.Option(None, "--since", min=0, max=2**63 - 1, help="With --proof: add a consistency proof from this tree size."),
) -> None:
    """Show an account's balance per currency (credits − debits): pending, and paid out so far."""
    with user_errors():
        ledger = open_ledger(ctx)
        name = known_account(ledger.engine, account)
        test_model = paid_by_test_models(ledger.engine, name)
        if period is not None:
            rows = period_balances(ledger.engine, name, parse_period(period))
        else:
            totals, paid = ledger.balance(name), paid_totals(ledger.engine, name)
        if proof is not None and period is not None:
            bundle = verified_period_bundle(ctx, ledger.engine, name, parse_period(period), since)
        elif proof is not None:
            bundle = _verified_bundle(ctx, ledger.engine, name, since)
    if proof is not None:
        write_output(json.dumps(bundle, indent=2, sort_keys=True) + "\n", proof,
                     what=f"a bundle of {len(bundle['entries'])} proven entries of {name}")
    if period is not None:
        _show_period(name, period, rows, as_json, test_model)
        return
    rows = [{"currency": cur, "amount": format_amount(micros, cur), "paid_out": format_amount(paid.get(cur, 0), cur)}
            for cur, micros in totals.items()]
    if as_json:
        print_json({"account": name, "balances": rows, "test_model": test_model})
        return
    if not rows:
        say(f"{name} has no transfers yet.")
        return
    out.print(table(name, ["currency", money_column("balance (pending)"), money_column("paid out")],
                    [(r["currency"], r["amount"], r["paid_out"]) for r in rows],
                    caption=TEST_MODEL_NOTE if test_model else None))


def _verified_bundle(ctx: typer.Context, engine, account: str, since: int | None) -> dict:
    """`balance --proof`: only from a ledger whose chain and checkpoints verify."""
    report = verify_ledger(engine)
    checkpoints = verify_checkpoints(engine) if report.ok else None
    if not report.ok or not checkpoints.ok:
        problem = report.problem if not report.ok else checkpoints.problem
        fail(f"The ledger does not verify ({problem}); no proof bundle is handed out from it. "
             "Run `fairsplit ledger verify`.")
    try:
        signer = load_signer(settings_of(ctx).key_dir, engine)
    except SigningKeyError:
        signer = None
    return balance_bundle(engine, account, signer, since)


def _show_period(account: str, period: str, rows, as_json: bool, test_model: bool) -> None:
    shown = [{"currency": r.currency, "period": r.period, "status": r.status,
              **{key: format_amount(getattr(r, key), r.currency) for key in ("opening", "earned", "paid", "pending")}}
             for r in rows]
    if as_json:
        print_json({"account": account, "period": parse_period(period).id, "balances": shown, "test_model": test_model})
        return
    if not shown:
        say(f"{account} has no transfers yet.")
        return
    out.print(table(f"{account} in {shown[0]['period']}",
                    ["currency", "status", *(money_column(name) for name in ("opening", "earned", "paid", "pending"))],
                    [(r["currency"], r["status"], r["opening"], r["earned"], r["paid"], r["pending"]) for r in shown],
                    caption=TEST_MODEL_NOTE if test_model else None))


@app.command()
def history(
    ctx: typer.Context,
    account: str = ACCOUNT,
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="How many transfers, newest first."),
    period: str | None = typer.Option(None, "--period", help="Only transfers counted in this period (e.g. 2026-11)."),
    as_json: bool = AS_JSON,
) -> None:
    """List the transfers into and out of an account, newest first, with their period and status."""
    with user_errors():
        engine = open_ledger(ctx).engine
        name = known_account(engine, account)
        lines = account_history(engine, name, limit, parse_period(period) if period else None)
        test_model = paid_by_test_models(engine, name)
    rows = [{
        "seq": line.transfer.seq, "id": line.transfer.id, "kind": line.transfer.kind, "event_id": line.transfer.event_id,
        "amount": format_amount(line.amount, line.transfer.currency), "currency": line.transfer.currency,
        "counterparty": line.counterparty, "occurred_at": line.transfer.occurred_at.isoformat(),
        "memo": line.transfer.memo, "reverses_id": line.transfer.reverses_id,
        "period": line.period, "late": line.late, "status": line.status,
    } for line in lines]
    if as_json:
        print_json({"account": name, "transfers": rows, "test_model": test_model})
        return
    if not rows:
        say(f"{name} has no transfers yet.")
        return
    # Everything stays whole: date, kind, counterparty, the event id, the amount with its
    # currency, period and status. Where one line per transfer does not fit the terminal,
    # each cell stacks two values (e.g. at 80 columns).
    cells = [(r["seq"], r["occurred_at"][:16].replace("T", " "), r["kind"], r["counterparty"], r["event_id"],
              f"{r['amount']} {r['currency']}", r["period"] + (" (late)" if r["late"] else ""), r["status"]) for r in rows]
    wide = [text_column("seq", keep=True), text_column("occurred (UTC)", keep=True), text_column("kind", keep=True),
            id_column("counterparty"), id_column("event"), money_column("amount"), text_column("period", keep=True),
            text_column("status", keep=True)]
    if not _fits(wide, cells, out.width):
        wide = [text_column("occurred (UTC)\nkind, status", keep=True), id_column("counterparty\nevent"),
                Col("amount\nperiod", "right", keep=True)]
        cells = [(f"{when}\n{kind}, {status}", f"{other}\n{event}", f"{amount}\n{period}")
                 for _, when, kind, other, event, amount, period, status in cells]
    out.print(table(name, wide, cells, caption=TEST_MODEL_NOTE if test_model else None))


def _fits(columns, cells, width: int) -> bool:
    """Whether one line per row, every column whole, fits `width` cells."""
    return sum(max(line_width(str(value)) for value in [column.name, *(row[i] for row in cells)]) + 2
               for i, column in enumerate(columns)) <= width
