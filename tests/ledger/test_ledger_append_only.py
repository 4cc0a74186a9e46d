"""The database itself refuses to change or remove ledger rows (both backends)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from ledger.books.store import reward_transfers
from tests.ledger.support import WHEN


@pytest.fixture
def booked(env):
    env.ledger.append(reward_transfers("ev-1", "acme", {"van-gogh": 1}, 4000, "USD", WHEN))
    return env


@pytest.mark.parametrize(
    "statement",
    ["UPDATE transfers SET amount = 1", "DELETE FROM transfers",
     "UPDATE signing_keys SET public_key = 'x'", "DELETE FROM signing_keys"],
)
def test_update_and_delete_are_rejected(booked, statement):
    with pytest.raises(DBAPIError, match="append-only"):
        booked.sql(statement)
    assert booked.ledger.balance("artist:van-gogh") == {"USD": 4000}


def test_truncate_is_rejected_on_postgres(booked):
    if booked.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has no TRUNCATE")
    with pytest.raises(DBAPIError, match="append-only"):
        booked.sql("TRUNCATE transfers CASCADE")
    assert booked.ledger.head()[0] == 1


def test_a_key_can_be_retired_once_and_only_that(booked):
    booked.sql("UPDATE signing_keys SET retired_at = CURRENT_TIMESTAMP")
    with pytest.raises(DBAPIError, match="append-only"):
        booked.sql("UPDATE signing_keys SET retired_at = CURRENT_TIMESTAMP")
