"""Errors the ledger raises. Each message is one sentence a person can act on.

`one_line` and `first_line` are the project's one way of making someone's text — an
error, a refusal, a database's complaint — fit on one line of a log, a dead letter or an
error message.
"""

from __future__ import annotations

MAX_LINE_CHARS = 300


def one_line(text: object, limit: int = MAX_LINE_CHARS) -> str:
    """`text` with its whitespace (line breaks included) collapsed to single spaces, cut to
    at most `limit` characters (an ellipsis marks the cut)."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def first_line(text: object, limit: int = MAX_LINE_CHARS) -> str:
    """The first line of `text` (never a stack, never the SQL a database error carries on
    its later lines) as `one_line` writes it; "" when `text` is blank."""
    lines = str(text).strip().splitlines()
    return one_line(lines[0], limit) if lines else ""


class LedgerError(Exception):
    """Base class: a problem the caller (or the person behind the CLI) caused or can fix."""


class MoneyError(LedgerError, ValueError):
    """An amount or currency that cannot be booked exactly."""


class AccountError(LedgerError, ValueError):
    """An account name that does not follow `kind:id`."""


class TransferError(LedgerError, ValueError):
    """A transfer that breaks a ledger invariant before it reaches the database."""


class ConflictError(LedgerError):
    """A transfer id that is already booked with a different body."""


class NotInitialisedError(LedgerError):
    """The database has no ledger schema (run `fairsplit init`)."""


class DatabaseUnavailableError(LedgerError):
    """The database cannot be reached."""


class SigningKeyError(LedgerError):
    """A signing key that is missing, unreadable, unregistered or too widely readable."""
