"""Appending and reading: idempotent, conflict-checked, atomic, exact (both backends)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from fractions import Fraction

import pytest
from sqlalchemy import func, select

from ledger.errors import AccountError, ConflictError, MoneyError, TransferError
from ledger.books.schema import Transfer
from ledger.books.store import TransferSpec, reward_transfers, transfer_id
from tests.ledger.support import WHEN


def reward(event="ev-1", amount=4000, payees=None):
    payees = payees or {"van-gogh": Fraction(0.6), "model:sd-1.5": Fraction(0.4)}
    return reward_transfers(event, "acme", payees, amount, "USD", WHEN, attribution_id="att-1")


def count(env) -> int:
    with env.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Transfer)).scalar()


def test_reward_legs_add_up_and_balances_follow(env):
    booked = env.ledger.append(reward(amount=4001))
    assert [t.amount for t in booked] == [2401, 1600]
    assert sum(t.amount for t in booked) == 4001
    assert [t.seq for t in booked] == [1, 2]
    assert booked[1].prev_hash == booked[0].hash
    assert booked[0].id == transfer_id("ev-1", "artist:van-gogh", "reward")
    assert booked[0].occurred_at == WHEN
    assert env.ledger.balance("artist:van-gogh") == {"USD": 2401}
    assert env.ledger.balance("platform:acme") == {"USD": -4001}
    assert env.ledger.balance("model:sd-1.5", "USD") == {"USD": 1600}
    assert env.ledger.balance("artist:nobody", "EUR") == {"EUR": 0}


def test_zero_parts_are_skipped():
    specs = reward_transfers("e", "platform:acme", {"a": 1, "b": 0}, 10, "USD", WHEN)
    assert [(s.credit, s.amount) for s in specs] == [("artist:a", 10)]


def test_re_append_is_a_no_op_returning_the_stored_rows(env):
    first = env.ledger.append(reward())
    again = env.ledger.append(reward())
    assert again == first
    assert count(env) == 2
    mixed = env.ledger.append(reward() + reward(event="ev-2"))
    assert mixed[:2] == first and [t.seq for t in mixed[2:]] == [3, 4]
    assert count(env) == 4


def test_conflicting_re_append_is_rejected_and_writes_nothing(env):
    env.ledger.append(reward())
    changed = [replace(reward()[0], amount=9999)]
    with pytest.raises(ConflictError, match="already booked with a different amount"):
        env.ledger.append(reward(event="ev-2") + changed)
    assert count(env) == 2  # ev-2 was not written either: one call is one transaction
    with pytest.raises(ConflictError, match="occurred_at"):
        env.ledger.append([replace(reward()[1], occurred_at=WHEN + timedelta(seconds=1))])


def test_conflict_inside_one_batch(env):
    spec = reward()[0]
    with pytest.raises(ConflictError, match="twice in one batch"):
        env.ledger.append([spec, replace(spec, memo="other")])
    assert env.ledger.append([spec, spec])[0] == env.ledger.append([spec])[0]


def test_history_newest_first_with_paging(env):
    for n in range(3):
        env.ledger.append(reward(event=f"ev-{n}", amount=1000 + n))
    history = env.ledger.history("artist:van-gogh")
    assert [t.event_id for t in history] == ["ev-2", "ev-1", "ev-0"]
    assert [t.event_id for t in env.ledger.history("artist:van-gogh", limit=1, offset=1)] == ["ev-1"]
    assert len(env.ledger.history("platform:acme")) == 6


def test_reversal_undoes_a_transfer(env):
    original = env.ledger.append(reward())[0]
    reversal = TransferSpec("ev-1", original.credit_account, original.debit_account, original.amount, "USD",
                            "reversal", WHEN, reverses_id=original.id, memo="fraudulent event")
    booked = env.ledger.append([reversal])[0]
    assert booked.reverses_id == original.id and booked.memo == "fraudulent event"
    assert env.ledger.balance("artist:van-gogh") == {"USD": 0}
    too_much = replace(reversal, event_id="ev-x", amount=original.amount + 1)
    with pytest.raises(TransferError, match="at most its amount"):
        env.ledger.append([too_much])
    with pytest.raises(TransferError, match="not booked"):
        env.ledger.append([replace(reversal, event_id="ev-y", reverses_id=transfer_id("no", "such", "reward"))])


@pytest.mark.parametrize(
    ("change", "error", "fragment"),
    [({"amount": 0}, MoneyError, "more than zero"), ({"amount": -5}, MoneyError, "more than zero"),
     ({"amount": 1.5}, MoneyError, "never a float"), ({"currency": "XXX"}, MoneyError, "Unknown currency"),
     ({"credit": "bank:x"}, AccountError, "unknown kind"), ({"credit": "platform:acme"}, TransferError, "two different"),
     ({"kind": "gift"}, TransferError, "not one of"), ({"occurred_at": WHEN.replace(tzinfo=None)}, TransferError, "timezone"),
     ({"credit": "payouts:EUR"}, TransferError, "only holds EUR"), ({"event_id": ""}, TransferError, "1-200 characters"),
     ({"event_id": "a\x00b"}, TransferError, "without NUL"), ({"memo": "x\x00"}, TransferError, "without NUL"),
     ({"amount": 2**63}, MoneyError, "64-bit")],
)
def test_bad_specs_give_clear_errors_and_write_nothing(env, change, error, fragment):
    with pytest.raises(error, match=fragment):
        env.ledger.append([replace(reward()[0], **change)])
    assert count(env) == 0


def test_large_batch_is_signed_in_parallel_and_chains(env):
    specs = [TransferSpec(f"e{i}", "platform:acme", f"artist:a{i % 7}", 1 + i, "USD", "reward", WHEN) for i in range(1500)]
    booked = env.ledger.append(specs)
    assert [t.seq for t in booked] == list(range(1, 1501))
    assert all(b.prev_hash == a.hash for a, b in zip(booked, booked[1:]))
    assert env.ledger.head() == (1500, booked[-1].hash)
    assert sum(env.ledger.balance(f"artist:a{k}")["USD"] for k in range(7)) == sum(range(1, 1501))


def test_transfer_id_is_uuid5_of_event_payee_kind():
    import uuid

    from ledger.books.store import TRANSFER_NAMESPACE, transfer_id

    for event_id in ("e-1", "évènement-ü", "x" * 200, str(uuid.uuid4())):
        for payee, kind in (("artist:van-gogh", "reward"), ("platform:acme", "reversal")):
            expected = str(uuid.uuid5(TRANSFER_NAMESPACE, f"{event_id}|{payee}|{kind}"))
            assert transfer_id(event_id, payee, kind) == expected
