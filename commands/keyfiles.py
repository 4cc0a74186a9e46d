"""The ledger's public keys file as the commands read it, and its check against the log."""

from __future__ import annotations

from dataclasses import replace

from commands.common import fail, read_input
from ledger.tlog.public_keys import Keyring, KeyringError, parse_keyring


def read_keyring(path: str) -> Keyring:
    """The public keys file at `path`; one sentence and exit 2 when it cannot be read."""
    try:
        return parse_keyring(read_input(path, "public keys file", 1 << 20))
    except KeyringError as exc:
        fail(f"{path}: {exc}")


def keyring_problem(engine, keyring: Keyring) -> str | None:
    """Why the keys file's ranges disagree with the log's own key history, or None."""
    from ledger.keys.history import history_mismatch
    from ledger.keys.log import log_key_history

    with engine.connect() as connection:
        derived = log_key_history(connection, keyring.keys[0].public_key)
    problem = history_mismatch(keyring.history(), derived)
    return None if problem is None else f"the public keys file disagrees with the log: {problem}"


def agrees_with_keyring(engine, keyring: Keyring, report):
    """`report`, failed when the keys file's ranges disagree with the log's own key history."""
    problem = keyring_problem(engine, keyring)
    return report if problem is None else replace(report, ok=False, bad_seq=None, problem=problem)
