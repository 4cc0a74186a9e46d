"""Account names: kind:id, bare ids are artists."""

from __future__ import annotations

import pytest

from ledger.books.accounts import resolve_account, validate_account
from ledger.errors import AccountError


def test_bare_id_is_an_artist():
    assert resolve_account("van-gogh") == "artist:van-gogh"
    assert resolve_account("model:sd-1.5") == "model:sd-1.5"
    assert resolve_account("payouts:USD") == "payouts:USD"


@pytest.mark.parametrize(
    ("name", "fragment"),
    [("bank:x", "unknown kind"), ("artist:", "invalid id"), ("artist:Van Gogh", "invalid id"),
     ("payouts:usd", "ISO 4217"), ("payouts:XYZ", "ISO 4217"), ("vangogh", "kind:id")],
)
def test_bad_accounts_are_rejected(name, fragment):
    with pytest.raises(AccountError, match=fragment):
        validate_account(name)


def test_resolve_rejects_bad_bare_ids():
    with pytest.raises(AccountError, match="invalid id"):
        resolve_account("Van Gogh")
