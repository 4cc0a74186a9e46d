"""fairsplit command line: the one place that wires configuration to everything.

Every option with an environment variable reads `FAIRSPLIT_*` first, so a deployment is
configured by its environment and a person can override any of it on the command line.
Commands are grouped by noun (`fairsplit ledger verify`, `fairsplit payouts close`);
people get rich tables, programs get `--json`; a user mistake is one sentence on stderr
and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any, NoReturn

import typer
from rich.console import Console

app = typer.Typer(
    name="fairsplit",
    help="Fair reward splits between generative models and artists, paid through a verifiable ledger.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

out = Console()
err = Console(stderr=True)

DEFAULT_DATABASE_URL = "sqlite:///./fairsplit.db"
DEFAULT_KEY_DIR = "./keys"


@dataclass
class Context:
    """Configuration shared by every command, resolved once in the root callback."""

    database_url: str
    key_dir: str


def fail(message: str, code: int = 2) -> NoReturn:
    """Report a user-facing error as one sentence and exit non-zero."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    """Machine output: one JSON document on stdout, nothing else."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def ctx_of(ctx: typer.Context) -> Context:
    return ctx.find_root().obj


@app.callback()
def main(
    ctx: typer.Context,
    database_url: str = typer.Option(
        DEFAULT_DATABASE_URL,
        "--database-url",
        envvar="FAIRSPLIT_DATABASE_URL",
        help="SQLAlchemy URL of the ledger database (sqlite:///… or postgresql+psycopg://…).",
    ),
    key_dir: str = typer.Option(
        DEFAULT_KEY_DIR,
        "--key-dir",
        envvar="FAIRSPLIT_KEY_DIR",
        help="Directory of the ledger's private signing keys (0600 files).",
    ),
) -> None:
    ctx.obj = Context(database_url=database_url, key_dir=key_dir)


# ---------------------------------------------------------------------------
# Command groups. Each area registers its commands in its own section below.
# ---------------------------------------------------------------------------

ledger_app = typer.Typer(help="Verify and inspect the ledger.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")


# --- ledger: init, ledger verify, balance, history --------------------------


# --- attribution: attribute ---------------------------------------------------


# --- registry: artists, platforms ---------------------------------------------


# --- pipeline: sign, ingest, emit, serve, up ----------------------------------


# --- payouts and statements ---------------------------------------------------


# --- verifiable ledger: checkpoints, proofs, keys ------------------------------


if __name__ == "__main__":
    app()
