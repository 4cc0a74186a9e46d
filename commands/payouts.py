"""`fairsplit payouts …`: close periods into payouts, list what they paid."""

from __future__ import annotations

import typer

from commands.common import (id_column, money_column, open_ledger, out, print_json, say, settings_of, table, text_column,
                             user_errors)
from commands.options import AS_JSON, setting
from commands.wiring import witness_pool
from ledger.payouts.close import list_payouts
from ledger.money import MAX_MICROS, format_amount, parse_money
from ledger.payouts.periods import parse_period
from services.closing import close_and_witness

app = typer.Typer(help="Close payout periods and list what they paid.", no_args_is_help=True)


@app.command("close")
def close(
    ctx: typer.Context,
    period: str = typer.Argument(..., help="Period id: 2026-11 (month), 2026-W47 (ISO week) or 2026-Q4 (quarter)."),
    min_payout: str | None = setting("min_payout"),
    currency: str | None = setting("currency"),
    witnesses: str | None = setting("witnesses"),
    witness_quorum: int | None = setting("witness_quorum"),
    as_json: bool = AS_JSON,
) -> None:
    """Pay every artist and model its balance (rounded down to the minor unit) and lock the period."""
    with user_errors():
        settings = settings_of(ctx).merge(min_payout=min_payout, currency=currency, witnesses=witnesses,
                                          witness_quorum=witness_quorum)
        pool = witness_pool(settings)
        target = parse_period(period)
        cur = settings.currency.strip().upper()
        minimum = parse_money(settings.min_payout, cur, MAX_MICROS)
        closing = close_and_witness(open_ledger(ctx, signing=True), target, cur, minimum, pool)
    result, checkpoint, outcomes = closing.result, closing.checkpoint, closing.witnesses

    def fmt(micros: int) -> str:
        return format_amount(micros, cur)

    report = {
        "period": target.id, "currency": cur, "already_closed": result.already_closed,
        "checkpoint": {"tree_size": checkpoint.size}, "paid_total": fmt(result.paid_total),
        "witnesses": [outcome.as_dict() for outcome in outcomes],
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
        say(f"Period {target.id} is already closed for {cur}; nothing changed.")
        return
    for plan in report["closed"]:
        if plan["decisions"]:
            out.print(table(f"{plan['period']} {cur}", [id_column("account"), money_column("balance"), money_column("paid"),
                                                      money_column("carried forward"), "why"],
                            [(d["account"], d["balance"], d["paid"], d["carried"], d["reason"]) for d in plan["decisions"]]))
        else:
            say(f"{plan['period']}: no payee had a balance.")
    closed = ", ".join(plan["period"] for plan in report["closed"])
    say(f"Closed {closed} for {cur}: paid {report['paid_total']} {cur} to payouts:{cur}; checkpoint {checkpoint.size}.")
    for outcome in outcomes:
        say(f"witness {outcome.witness}: {outcome.status}{' (' + outcome.detail + ')' if outcome.detail else ''}")


@app.command("list")
def list_closes(
    ctx: typer.Context,
    period: str | None = typer.Option(None, "--period", help="Only this period (e.g. 2026-11)."),
    as_json: bool = AS_JSON,
) -> None:
    """List closed periods, newest first, with the payouts each one made."""
    with user_errors():
        wanted = parse_period(period) if period else None
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
        say("No period is closed yet." if wanted is None else f"Period {wanted.id} is not closed.")
        return
    out.print(table("Closed periods", [text_column("period", keep=True), "cur", text_column("closed at", drop=1),
                                       money_column("paid"), money_column("payees paid"), money_column("carried forward")],
                    [(r["period"], r["currency"], r["closed_at"][:19], r["paid_total"], r["paid_count"],
                      r["carried_total"]) for r in rows]))
    if wanted is not None:
        for row in rows:
            out.print(table(f"Payouts {row['period']}", [id_column("account"), money_column("amount"), id_column("transfer")],
                            [(p["account"], p["amount"], p["transfer_id"]) for p in row["payouts"]]))
