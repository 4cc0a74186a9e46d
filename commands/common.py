"""What every command module shares: the consoles, the root context, and the mapping of
expected failures to one sentence and an exit code (never a traceback)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

import typer
from rich.console import Console

out = Console()
err = Console(stderr=True, soft_wrap=True)  # an error stays one greppable line


@dataclass
class Context:
    """Configuration shared by every command, resolved once in the root callback."""

    database_url: str
    key_dir: str


def ctx_of(ctx: typer.Context) -> Context:
    return ctx.find_root().obj


def fail(message: str, code: int = 2) -> NoReturn:
    """Report a user-facing error as one sentence and exit non-zero."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    """Machine output: one JSON document on stdout, nothing else."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn ledger and database errors into one sentence and exit code 2, no traceback."""
    from sqlalchemy.exc import ArgumentError, OperationalError

    from ledger.errors import LedgerError

    try:
        yield
    except LedgerError as exc:
        fail(str(exc))
    except ArgumentError:
        fail("The database URL is not valid; use sqlite:///path.db or postgresql://user@host/db.")
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "unknown error"
        fail(f"Cannot use the database: {reason}.")


@contextmanager
def broker_errors(bootstrap: str | None) -> Iterator[None]:
    """Turn Kafka client errors (unreachable broker, timeouts) into one sentence and exit 2."""
    from kafka.errors import KafkaError

    try:
        yield
    except KafkaError as exc:
        fail(f"cannot use the Kafka broker at {bootstrap}: {str(exc).split(': ', 1)[-1].rstrip('.')}.")


def open_ledger(ctx: typer.Context, signing: bool = False):
    """The ledger of the configured database, checked to be initialised (call inside user_errors)."""
    from ledger.db import check_ready, make_engine
    from ledger.keys import load_signer
    from ledger.store import Ledger

    config = ctx_of(ctx)
    engine = make_engine(config.database_url)
    check_ready(engine)
    return Ledger(engine, load_signer(config.key_dir, engine) if signing else None)


def ready_engine(ctx: typer.Context):
    """The configured database, checked to be initialised (call inside user_errors)."""
    return open_ledger(ctx).engine
