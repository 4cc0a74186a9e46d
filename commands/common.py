"""What every command module shares: the consoles, the settings of this invocation, the
mapping of expected failures to one sentence and an exit code, and safe output.

Exit codes (docs/cli.md): 0 success; 1 a check failed or some input was rejected (the
rest was processed); 2 a mistake in the command, its files or its configuration, or a
service it needs is unreachable — nothing was changed.

Nothing a user typed or a file held is ever interpreted as rich markup: messages are
printed with markup off, table cells are `rich.text.Text`; and no terminal control in it
reaches the terminal: every message and cell goes through `services.safe_text.printable`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from services.safe_text import printable
from commands.settings import Settings, SettingsError
from ledger.errors import first_line
from ledger.errors import one_line as ledger_one_line

out = Console()
err = Console(stderr=True, soft_wrap=True)  # an error stays one greppable line

MAX_MESSAGE_CHARS = 300


def settings_of(ctx: typer.Context) -> Settings:
    """The settings the root command read (environment + global options)."""
    return ctx.find_root().obj


def one_line(text: object, limit: int = MAX_MESSAGE_CHARS) -> str:
    """A message as one printable line of at most `limit` characters."""
    return ledger_one_line(printable(text), limit)


def say(message: object, style: str | None = None, *, to: Console = out) -> None:
    """Print `message` as plain text (markup in it is shown, never interpreted)."""
    to.print(Text(printable(message), style=style or ""), highlight=False, soft_wrap=True)


def fail(message: object, code: int = 2) -> NoReturn:
    """Report a user-facing error as one sentence on stderr and exit non-zero."""
    err.print(Text.assemble(("error: ", "bold red"), one_line(message)), highlight=False)
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    """Machine output: one JSON document on stdout, nothing else."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def cell(value: object) -> Text:
    return value if isinstance(value, Text) else Text("" if value is None else printable(value))


@dataclass(frozen=True)
class Col:
    """A table column. `keep` columns — money, ids a user must copy, statuses — are never
    cut nor wrapped. When a table is wider than the terminal, the columns with the
    highest `drop` go first (0: never dropped); what is left of plain text wraps."""

    name: str
    justify: str = "left"
    keep: bool = False
    drop: int = 0


def money_column(name: str) -> Col:
    return Col(name, "right", keep=True)


def id_column(name: str, drop: int = 0) -> Col:
    return Col(name, keep=True, drop=drop)


def text_column(name: str, drop: int = 0, keep: bool = False) -> Col:
    return Col(name, keep=keep, drop=drop)


def line_width(value: str) -> int:
    """Cells of the widest line of a cell (a cell may stack two values on two lines)."""
    return max(cell_len(line) for line in value.split("\n"))


def fit_columns(columns: Sequence[Col], rows: Sequence[Sequence[object]], width: int) -> list[int]:
    """Indices of the columns to show so that the table fits `width` cells: the kept
    columns at their widest cell, the others at a few characters (they wrap)."""

    def needed(index: int) -> int:
        widest = max(line_width(str(value)) for value in [columns[index].name, *(row[index] for row in rows)])
        return widest if columns[index].keep else min(widest, max(6, cell_len(columns[index].name)))

    shown = list(range(len(columns)))
    for index in sorted((i for i, c in enumerate(columns) if c.drop), key=lambda i: -columns[i].drop):
        if sum(needed(i) for i in shown) + 2 * len(shown) <= width:
            break
        shown.remove(index)
    return shown


def table(title: str | None, columns: Sequence[str | Col], rows: Iterable[Sequence[object]],
          caption: str | None = None, width: int | None = None) -> Table:
    """A compact table of plain-text cells that fits the terminal (`Col`: what is kept, what
    goes first); a caption says what the numbers are (e.g. that a test model made them)."""
    specs = [c if isinstance(c, Col) else Col(c) for c in columns]
    rows = [[("" if value is None else printable(value)) for value in row] for row in rows]
    shown = fit_columns(specs, rows, width or out.width)
    built = Table(*(Column(specs[i].name, justify=specs[i].justify, no_wrap=specs[i].keep,
                           overflow="ignore" if specs[i].keep else "fold",
                           min_width=max(line_width(v) for v in [specs[i].name, *(r[i] for r in rows)]) if specs[i].keep
                           else None) for i in shown),
                  title=title, caption=caption, box=box.SIMPLE_HEAD, caption_justify="left")
    for row in rows:
        built.add_row(*(Text(row[i]) for i in shown))
    return built


@contextmanager
def user_errors() -> Iterator[None]:
    """Expected failures (ledger, database, keys, files, configuration) → one sentence, exit 2."""
    from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

    from ledger.crypto import SignatureError
    from ledger.errors import LedgerError

    try:
        yield
    except (LedgerError, SettingsError, SignatureError) as exc:
        fail(str(exc))
    except ArgumentError:
        fail("The database URL is not valid; use sqlite:///path.db or postgresql://user@host/db.")
    except DBAPIError as exc:
        reason = first_line(exc.orig, 200) if exc.orig is not None else ""
        fail(f"Cannot use the database: {one_line(reason or type(exc).__name__, 200).rstrip('.')}.")
    except SQLAlchemyError as exc:
        fail(f"Cannot use the database ({type(exc).__name__}).")
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        fail(f"Cannot use{where}: {exc.strerror or exc}.")


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
    from ledger.books.db import check_ready, make_engine
    from ledger.keys.signing import load_signer
    from ledger.books.store import Ledger

    settings = settings_of(ctx)
    engine = make_engine(settings.database_url)
    check_ready(engine)
    signer = load_signer(settings.key_dir, engine) if signing else None
    return Ledger(engine, signer, str(settings.key_dir) if signing else None)  # a rotated key is picked up there


def ready_engine(ctx: typer.Context):
    """The configured database, checked to be initialised (call inside user_errors)."""
    return open_ledger(ctx).engine


# --- files a command writes ---------------------------------------------------------


def write_new_file(path: str | Path, data: bytes | str, *, overwrite: bool = False) -> Path:
    """Write `data` to `path` atomically (a temporary file renamed into place).

    An existing file is refused unless `overwrite`; a missing folder is refused (never
    created by accident). Raises `OSError`-free `typer.Exit` via `fail` with one sentence.
    """
    path = Path(path)
    if path.exists() and (path.is_dir() or not overwrite):
        what = "a folder" if path.is_dir() else "a file that exists"
        fail(f"{path} is {what}; choose a new file name" + ("" if path.is_dir() else " (or pass --force)") + ".")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        fail(f"The folder {parent} does not exist; create it first or choose another --out.")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.replace(temporary, path)
    except OSError as exc:
        fail(f"Cannot write {path}: {exc.strerror or exc}.")
    return path


def write_output(text: str, path: str | None, *, overwrite: bool = False, what: str = "output") -> None:
    """Write to `path` (saying where) or to stdout when it is None or -."""
    if path is None or path == "-":
        sys.stdout.write(text)
        return
    written = write_new_file(path, text, overwrite=overwrite)
    say(f"Wrote {what} to {written}.", to=err)


def check_input(path: str | Path, what: str) -> Path:
    """`path`, if it is a readable file; one sentence otherwise."""
    path = Path(path)
    if not path.is_file():
        fail(f"{what} {path} does not exist." if not path.exists() else f"{what} {path} is not a file.")
    if not os.access(path, os.R_OK):
        fail(f"{what} {path} cannot be read (permission denied).")
    return path


def witness_keys(files: list[str] | None, quorum: int | None):
    """The witness keys in `files` (one vkey line each) and the quorum (default: all)."""
    from ledger.tlog.checkpoint import CheckpointError
    from ledger.tlog.cosignature import parse_key_file

    keys = []
    for name in files or []:
        try:
            keys += parse_key_file(read_input(name, "witness key file", 1 << 20))
        except CheckpointError as exc:
            fail(f"{name}: {exc}")
    if quorum is not None and not 1 <= quorum <= len(keys):
        fail(f"--witness-quorum must be between 1 and the {len(keys)} witness keys given.")
    return keys, quorum


def read_input(path: str | Path, what: str, limit: int = 256 << 20) -> bytes:
    """The bytes of an input file, or one sentence saying why it cannot be read."""
    path = check_input(path, what)
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        fail(f"Cannot read {path}: {exc.strerror or exc}.")
    if len(data) > limit:
        fail(f"{what} {path} is larger than {limit >> 20} MiB.")
    return data
