"""Maintained balances and the paired checks of `ledger verify`: every balance row and every
close entry is re-derived from the transfers; a forged one is named; a ledger written
before balances were maintained upgrades in place and verifies, its balances unchanged."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import pytest
from sqlalchemy import func, select, text

from ledger.audit.balances import audit
from ledger.payouts.close_entries import close_specs
from ledger.payouts.close import close_period
from ledger.books.db import upgrade_to_head
from ledger.payouts.arithmetic import PayoutDecision
from ledger.payouts.periods import parse_period
from ledger.books.schema import TRANSFERS
from ledger.books.store import Ledger, reward_transfers
from ledger.transparency.tree import verify_checkpoints
from ledger.keys.entries import upgrade_specs
from ledger.audit.chain import verify_ledger
from tests.ledger.support import ledger_at

LATER = datetime(2027, 6, 1, tzinfo=UTC)
NOV, DEC = parse_period("2026-11"), parse_period("2026-12")
SHARES = {"artist:van-gogh": Fraction(2, 3), "model:sd-1.5": Fraction(1, 3)}


def book(ledger: Ledger, n: int, month: int = 11, prefix: str = "e") -> None:
    for i in range(n):
        ledger.append(reward_transfers(f"{prefix}{month}-{i}", "acme", SHARES, 1_000_001 + i, "USD",
                                       datetime(2026, month, 1 + i % 28, tzinfo=UTC)))


def summed(engine, account: str) -> int:
    """credits − debits straight from the transfers: the replay the maintained balance replaces."""
    with engine.connect() as connection:
        credit = connection.execute(select(func.coalesce(func.sum(TRANSFERS.c.amount), 0))
                                    .where(TRANSFERS.c.credit_account == account)).scalar()
        debit = connection.execute(select(func.coalesce(func.sum(TRANSFERS.c.amount), 0))
                                   .where(TRANSFERS.c.debit_account == account)).scalar()
    return int(credit) - int(debit)


def test_balances_are_maintained_per_append_and_re_derived_by_verify(env):
    book(env.ledger, 12)
    close_period(env.ledger, NOV, "USD", minimum=0, now=LATER)
    book(env.ledger, 5, month=12)
    for account in ("artist:van-gogh", "model:sd-1.5", "platform:acme", "payouts:USD"):
        assert env.ledger.balance(account, "USD") == {"USD": summed(env.engine, account)}
    report = audit(env.engine)
    assert report.ok and report.closes == 1 and report.balances >= 17 * 3, report


def test_a_forged_balance_row_is_named(env):
    book(env.ledger, 3)
    head, _ = env.ledger.head()
    env.sql("INSERT INTO account_balances (account, currency, through_seq, balance) "
            "VALUES ('artist:van-gogh', 'USD', :seq, 99000000)", seq=head + 1)
    assert env.ledger.balance("artist:van-gogh") == {"USD": 99_000_000}  # what a reader would be shown
    report = audit(env.engine)
    assert not report.ok and "maintained balance of artist:van-gogh (USD) through seq" in report.problem


def test_a_close_entry_that_does_not_match_the_transfers_is_named(env):
    book(env.ledger, 3)
    close_period(env.ledger, NOV, "USD", now=LATER)
    env.ledger.append(close_specs(NOV, "USD", [PayoutDecision("artist:monet", 5, 0, 5, "nothing")]))
    report = audit(env.engine)
    assert not report.ok and "comes after the close of 2026-11" in report.problem


def test_money_never_moves_through_a_ledger_account_and_a_close_entry_moves_none(env):
    from ledger.errors import TransferError
    from ledger.books.store import TransferSpec

    with pytest.raises(TransferError, match="ledger: account"):
        env.ledger.append([TransferSpec("x", "platform:acme", "ledger:closes", 5, "USD", "reward", LATER)])
    with pytest.raises(TransferError, match="amount must be 0"):
        env.ledger.append([TransferSpec("x", "ledger:closes", "ledger:carried", 5, "USD", "close", LATER,
                                        memo='{"type":"x"}')])
    for memo in ('{"type": "x"}', '{"period":"2026-11"}', "not json"):  # not canonical JSON with a type
        with pytest.raises(TransferError, match="canonical-JSON document with a type"):
            env.ledger.append([TransferSpec("x", "ledger:closes", "ledger:carried", 0, "USD", "close", LATER, memo=memo)])


def _legacy_ledger(url: str, key_dir: str) -> Ledger:
    """A ledger at revision 0007, written by the append path of that time (no balance rows,
    no close entries): the code's own path with today's additions switched off."""
    return ledger_at(url, key_dir, "0007_witness_cosignatures")


def test_a_ledger_written_before_maintained_balances_upgrades_and_verifies(database_url, tmp_path, monkeypatch):
    import ledger.payouts.close as closing
    import ledger.books.store as store
    from ledger.transparency.tree import create_checkpoint

    with monkeypatch.context() as old_code:
        old_code.setattr(store, "record_balances", lambda connection, rows: None)
        old_code.setattr(closing, "close_specs", lambda period, currency, decisions: [])
        legacy = _legacy_ledger(database_url, str(tmp_path / "keys"))
        book(legacy, 10)
        close_period(legacy, NOV, "USD", minimum=0, now=LATER)
        book(legacy, 4, month=12)
        create_checkpoint(legacy.engine, legacy.signer)
    engine = legacy.engine
    with engine.connect() as connection:
        before = {account: summed(engine, account) for account in ("artist:van-gogh", "model:sd-1.5", "platform:acme")}
        rows_before = connection.execute(text("SELECT seq, hash FROM transfers ORDER BY seq")).all()
    upgrade_to_head(engine)
    ledger = Ledger(engine, legacy.signer)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT seq, hash FROM transfers ORDER BY seq")).all() == rows_before
    for account, balance in before.items():
        assert ledger.balance(account) == {"USD": balance}
    ledger.append_decided(upgrade_specs)  # what `fairsplit init` then records: the rewards so far are legacy
    assert verify_ledger(engine).ok and verify_checkpoints(engine).ok
    report = audit(engine)
    assert report.ok and report.legacy_closes == 1 and report.closes == 0, report
    december = close_period(ledger, DEC, "USD", now=LATER)  # opens with November replayed, once
    assert december.paid_total == before["artist:van-gogh"] + before["model:sd-1.5"] - sum(
        d.carried for d in december.closed[0].decisions)
    report = audit(engine)
    assert report.ok and report.closes == 1 and verify_ledger(engine).ok
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM account_balances")).scalar() > 0


def test_history_merges_the_account_indexes_newest_first_across_currencies(env):
    for i in range(7):
        currency = ("USD", "EUR")[i % 2]
        env.ledger.append(reward_transfers(f"h{i}", "acme", SHARES, 1_000_000 + i, currency,
                                           datetime(2026, 11, 1 + i, tzinfo=UTC)))
    with env.engine.connect() as connection:
        everything = [row.seq for row in connection.execute(text(
            "SELECT seq FROM transfers WHERE credit_account = 'artist:van-gogh' OR debit_account = 'artist:van-gogh' "
            "ORDER BY seq DESC"))]
    for limit, offset in ((3, 0), (4, 2), (50, 0), (2, 6)):
        shown = [t.seq for t in env.ledger.history("artist:van-gogh", limit=limit, offset=offset)]
        assert shown == everything[offset:offset + limit]
    assert env.ledger.history("artist:nobody") == []
