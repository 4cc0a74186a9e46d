"""The event record: booked with its transfers atomically, duplicates pay nothing more,
a different body under the same id is refused, and nothing can be edited."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from ledger.errors import ConflictError, MoneyError
from ledger.books.events import EventRecord, book_event, get_event
from ledger.books.schema import EVENTS, TRANSFERS
from ledger.books.store import reward_transfers
from tests.ledger.support import WHEN

EVENT_ID = "9b1c3f3e-8f1a-4c55-9d61-3f0d1f0e2a11"


def _record(body_sha256: str = "a" * 64) -> EventRecord:
    return EventRecord(
        event_id=EVENT_ID, body_sha256=body_sha256, platform_id="acme", model_id="tiny-sd",
        occurred_at=WHEN, content="an image of a man", reward_amount=4000, currency="USD",
        attribution_id="attr-1", attribution_json="{}", event_json="{}",
    )


def _transfers(weights=None):
    weights = weights or {"model:tiny-sd": 1, "artist:van-gogh": 3}
    return reward_transfers(EVENT_ID, "acme", weights, 4000, "USD", WHEN, "attr-1")


def _count(env, table) -> int:
    with env.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar()


def test_event_and_its_transfers_are_booked_together(env):
    assert book_event(env.ledger, _record(), _transfers()) == "recorded"
    assert _count(env, EVENTS) == 1 and _count(env, TRANSFERS) == 2
    assert env.ledger.balance("artist:van-gogh") == {"USD": 3000}
    assert get_event(env.engine, EVENT_ID)["content"] == "an image of a man"


def test_a_duplicate_pays_nothing_more_even_if_its_split_was_recomputed_differently(env):
    book_event(env.ledger, _record(), _transfers())
    again = _transfers({"model:tiny-sd": 1, "artist:van-gogh": 1})  # a re-render drifted
    assert book_event(env.ledger, _record(), again) == "duplicate"
    assert _count(env, TRANSFERS) == 2
    assert env.ledger.balance("artist:van-gogh") == {"USD": 3000}


def test_same_id_with_another_body_is_refused_and_the_first_stands(env):
    book_event(env.ledger, _record(), _transfers())
    with pytest.raises(ConflictError, match="first one stands"):
        book_event(env.ledger, _record("b" * 64), _transfers())
    assert _count(env, EVENTS) == 1 and _count(env, TRANSFERS) == 2


def test_a_failed_append_leaves_no_event_behind(env):
    bad = [replace(_transfers()[0], currency="XYZ")]
    with pytest.raises(MoneyError, match="XYZ"):
        book_event(env.ledger, _record(), bad)
    assert _count(env, EVENTS) == 0 and _count(env, TRANSFERS) == 0


@pytest.mark.parametrize("statement", ["UPDATE events SET content = 'x'", "DELETE FROM events"])
def test_the_event_record_is_append_only(env, statement):
    book_event(env.ledger, _record(), _transfers())
    with pytest.raises(DBAPIError, match="append-only"):
        env.sql(statement)


def _item(event_id: str, body_sha256: str = "a" * 64, amount: int = 4000):
    event_id = f"00000000-0000-4000-8000-{int(event_id[2:]):012d}"  # e-3 → a canonical id
    record = replace(_record(body_sha256), event_id=event_id, reward_amount=amount)
    return record, reward_transfers(event_id, "acme", {"model:tiny-sd": 1, "artist:van-gogh": 3}, amount, "USD", WHEN, "attr-1")


@pytest.mark.parametrize("spelling", [EVENT_ID.upper(), "demo-1", EVENT_ID + "\n", ""])
def test_an_event_id_that_is_not_a_lower_case_uuid_cannot_be_recorded(spelling):
    from ledger.invariants import InvariantError

    with pytest.raises(InvariantError, match="lower-case UUID"):
        replace(_record(), event_id=spelling)


def test_a_batch_is_booked_together_with_duplicates_paying_nothing_more(env):
    from ledger.books.events import book_events

    book_event(env.ledger, *_item("e-0"))
    items = [_item("e-1"), _item("e-0"), _item("e-2"), _item("e-1")]
    assert book_events(env.ledger, items) == ["recorded", "duplicate", "recorded", "duplicate"]
    assert _count(env, EVENTS) == 3 and _count(env, TRANSFERS) == 6
    assert env.ledger.balance("artist:van-gogh") == {"USD": 9000}


def test_a_refused_event_refuses_its_whole_batch_and_books_nothing(env):
    """book_events is all-or-nothing; the stream's RunTask isolates the bad item (tested in
    tests/services): one place isolates failures."""
    from ledger.books.events import book_events

    book_event(env.ledger, *_item("e-0"))
    bad_money = (replace(_item("e-3")[0]), [replace(t, amount=0) for t in _item("e-3")[1]])
    with pytest.raises(MoneyError):
        book_events(env.ledger, [_item("e-1"), bad_money, _item("e-2")])
    with pytest.raises(ConflictError, match="first one stands"):
        book_events(env.ledger, [_item("e-1"), _item("e-0", "b" * 64)])
    with pytest.raises(ConflictError, match="first one stands"):
        book_events(env.ledger, [_item("e-4"), _item("e-4", "b" * 64)])
    assert _count(env, EVENTS) == 1 and _count(env, TRANSFERS) == 2
