"""Log entries that move no money (`ledger.books.accounts.SYSTEM_KINDS`): what `check_spec` requires of them.

Invariant: an entry of a system kind has amount 0, `ledger:` accounts on both sides and a
memo that is a canonical-JSON document with a "type" string (at most `MAX_SYSTEM_MEMO`
characters: `system_memo` writes one, `parse_system_memo` reads one); a money entry never
names a `ledger:` account. A key entry's currency is `XXX` (ISO 4217 "no currency"). Two
histories share kind `key`, told apart by the credit account: the ledger's own keys
(`ledger:signing`, `ledger.keys.history`) and the platform and worker keys rewards are
checked against (`ledger.keys.trusted.ACCOUNTS`); each history reads only its own entries,
and each document is checked for shape here, for its place in the history when the history
is derived. A close entry's document is `ledger.payouts.close_entries`'.
"""

from __future__ import annotations

import json
from typing import Any

from ledger.books.accounts import SYSTEM_KINDS, validate_account
from ledger.errors import TransferError
from ledger.keys.history import KEY_CURRENCY, KEY_KIND, KeyHistoryError, parse_key_memo
from ledger.keys.history import canonical_memo as system_memo  # one canonical-JSON memo text
from ledger.keys.trusted import ACCOUNTS as TRUSTED_KEY_ACCOUNTS
from ledger.keys.trusted import KeyEntryError, check_entry

MAX_SYSTEM_MEMO = 64 << 10
__all__ = ["MAX_SYSTEM_MEMO", "check_system_entry", "is_system", "parse_system_memo", "refuse_ledger_accounts",
           "system_memo"]


def is_system(kind: str) -> bool:
    return kind in SYSTEM_KINDS


def parse_system_memo(memo: str | None) -> dict[str, Any] | None:
    """The document of a system entry's memo, or None unless it is canonical JSON with a "type" string."""
    if not isinstance(memo, str) or len(memo) > MAX_SYSTEM_MEMO:
        return None
    try:
        document = json.loads(memo)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or not isinstance(document.get("type"), str):
        return None
    try:
        return document if system_memo(document) == memo else None
    except ValueError:  # canonical_json refuses floats and the like
        return None


def check_system_entry(spec: Any) -> None:
    """Raise TransferError unless `spec` (a `TransferSpec` of a system kind) may be booked."""
    if spec.amount != 0 or isinstance(spec.amount, bool):
        raise TransferError(f"A {spec.kind} entry moves no money: its amount must be 0.")
    for account in (spec.debit, spec.credit):
        if not isinstance(account, str) or not validate_account(account).startswith("ledger:"):
            raise TransferError(f"A {spec.kind} entry is between ledger: accounts only.")
    if spec.debit == spec.credit or spec.reverses_id is not None:
        raise TransferError(f"A {spec.kind} entry needs two different ledger: accounts and reverses nothing.")
    if not isinstance(spec.memo, str) or "\x00" in spec.memo or not 0 < len(spec.memo) <= MAX_SYSTEM_MEMO:
        raise TransferError(f"A {spec.kind} entry's memo is its document, at most {MAX_SYSTEM_MEMO} characters.")
    if parse_system_memo(spec.memo) is None:
        raise TransferError(f"A {spec.kind} entry's memo must be a canonical-JSON document with a type.")
    if spec.kind == KEY_KIND:
        if spec.currency != KEY_CURRENCY:
            raise TransferError(f"A key entry's currency is {KEY_CURRENCY}.")
        row = {"memo": spec.memo, "amount": spec.amount, "currency": spec.currency,
               "debit_account": spec.debit, "credit_account": spec.credit}
        try:
            if spec.credit in TRUSTED_KEY_ACCOUNTS.values():
                check_entry(row)  # a platform or worker key, or the evidence start
            else:
                parse_key_memo(spec.memo)  # the ledger's own key
        except (KeyHistoryError, KeyEntryError) as exc:
            raise TransferError(f"The key entry is refused: {exc}.") from None


def refuse_ledger_accounts(debit: str, credit: str) -> None:
    """No money moves to or from a `ledger:` account."""
    if debit.startswith("ledger:") or credit.startswith("ledger:"):
        raise TransferError("No money moves to or from a ledger: account; those name the log's own entries.")
