"""`invariant(condition, message)`: a check that survives `python -O` (TigerBeetle style).

An invariant failing is a programming error or corrupted data, never a user's mistake,
so it raises `InvariantError` and the operation that was assembling the data stops
before anything is written. `assert` is not used for this: `-O` removes it.
"""

from __future__ import annotations

from ledger.errors import LedgerError


class InvariantError(LedgerError):
    """Data that breaks a stated invariant; the message names which."""


def invariant(condition: object, message: str) -> None:
    if not condition:
        raise InvariantError(f"Invariant violated: {message}.")
