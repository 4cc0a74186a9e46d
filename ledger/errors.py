"""Errors the ledger raises. Each message is one sentence a person can act on."""

from __future__ import annotations


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
