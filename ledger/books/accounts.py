"""Account names: `artist:<id>`, `model:<id>`, `platform:<id>`, `payouts:<CUR>`, `ledger:<id>`.

`ledger:<id>` accounts name the log's own entries that move no money (`SYSTEM_KINDS`: key
changes, period closes); no money ever moves to or from one (`ledger.books.store.check_spec`).

Accounts are not rows: an account exists once a transfer names it. An id is a
`ledger.ids.SLUG` (lower-case letters, digits, `.`, `_` and `-`, 1 to 64 characters,
starting with a letter or digit); a payouts account is named by its ISO 4217 currency. A bare id means an artist:
`resolve_account("van-gogh") == "artist:van-gogh"`.
"""

from __future__ import annotations

from ledger.errors import AccountError, MoneyError
from ledger.ids import is_slug
from ledger.money import check_currency

ACCOUNT_KINDS = ("artist", "model", "platform", "payouts", "ledger")
#: Transfer kinds that are log entries without money: amount 0, `ledger:` accounts only.
SYSTEM_KINDS = ("key", "close")


def validate_account(name: str) -> str:
    """Return `name` if it is a well-formed `kind:id` account, else raise AccountError."""
    if not isinstance(name, str) or ":" not in name:
        raise AccountError(f"Account {_shown(name)} must be written kind:id, e.g. 'artist:van-gogh'.")
    kind, _, ident = name.partition(":")
    if kind not in ACCOUNT_KINDS:
        raise AccountError(f"Account {_shown(name)} has unknown kind {kind!r}; use one of {', '.join(ACCOUNT_KINDS)}.")
    if kind == "payouts":
        try:
            check_currency(ident)
        except MoneyError:
            raise AccountError(f"Account {_shown(name)} must name an ISO 4217 currency, e.g. 'payouts:USD'.") from None
    elif not is_slug(ident):
        raise AccountError(
            f"Account {_shown(name)} has an invalid id: use lower-case letters, digits, '.', '_' and '-'."
        )
    return name


def _shown(value: object) -> str:
    """A bounded repr for messages (a hostile 10 MB account name is not echoed back)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "…'"


def resolve_account(text: str) -> str:
    """Accept what a person types: a full `kind:id`, or a bare artist id."""
    text = text.strip() if isinstance(text, str) else text
    if isinstance(text, str) and ":" not in text:
        text = f"artist:{text}"
    return validate_account(text)


def account_kind(name: str) -> str:
    return validate_account(name).partition(":")[0]
