"""Engines and schema: one place that knows the differences between SQLite and PostgreSQL.

- SQLite: WAL journal, foreign keys on, a 30 s busy timeout, and transactions begun by
  us (`BEGIN`, or `BEGIN IMMEDIATE` on a connection with the `ledger_write` execution
  option, which takes the write lock up front so concurrent writers queue instead of
  failing on upgrade).
- PostgreSQL: psycopg 3; `postgresql://` URLs are rewritten to `postgresql+psycopg://`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, ProgrammingError

from ledger.errors import DatabaseUnavailableError, MoneyError, NotInitialisedError, first_line

if TYPE_CHECKING:  # alembic is imported where migrations run (init, upgrades), not by every command
    from alembic.config import Config

MIGRATIONS_DIR = Path(str(files("migrations")))  # the installed package, wherever it lives
WRITE_OPTION = "ledger_write"
_SQLITE_TRANSIENT = ("locked", "busy", "unable to open", "disk i/o")


def sqlalchemy_url(url: str) -> str:
    """psycopg 3 is the PostgreSQL driver; plain libpq-style URLs are rewritten to say so."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str) -> Engine:
    """An Engine for the ledger database at `url` (SQLite or PostgreSQL)."""
    url = sqlalchemy_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest migration's revision id: the one revision no migration names as its
    `down_revision`.

    Read from the migration files' two assignments, not through alembic's ScriptDirectory:
    every command that opens the ledger checks the schema against it (`check_ready`), and
    importing alembic for that one answer was a tenth of a second of each command's start.
    tests/ledger/test_ledger_schema.py checks that alembic finds the same single head."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        assigned = _module_constants(path, ("revision", "down_revision"))
        if "revision" not in assigned:  # not a revision script (alembic reads only those)
            continue
        revisions.add(assigned["revision"])
        down = assigned.get("down_revision")
        parents.update((down,) if isinstance(down, str) else down or ())
    heads = sorted(revisions - parents)
    if len(heads) != 1:
        raise RuntimeError(f"The migrations in {MIGRATIONS_DIR} have {len(heads)} heads ({', '.join(heads)}), not one.")
    return heads[0]


def _module_constants(path: Path, names: tuple[str, ...]) -> dict:
    """The literal values a module assigns at its top level to `names` (plain or annotated)."""
    found = {}
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target = node.target
        else:
            continue
        if isinstance(target, ast.Name) and target.id in names:
            found[target.id] = ast.literal_eval(node.value)
    return found


def upgrade_to_head(url: str | Engine) -> str:
    """Bring the schema at `url` to the newest revision; returns the revision it was at before."""
    from alembic import command

    engine = url if isinstance(url, Engine) else make_engine(url)
    config = alembic_config()
    try:
        with engine.begin() as connection:
            before = _current_revision(connection)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise DatabaseUnavailableError(f"Cannot reach the database: {_first_line(exc)}.") from exc
    return before


def _current_revision(connection) -> str | None:
    try:
        with connection.begin_nested():
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError):
        return None


def _first_line(exc: DBAPIError) -> str:
    return (first_line(exc.orig) if exc.orig else first_line(exc)).rstrip(".")


@contextmanager
def refuse_overflow(what: str) -> Iterator[None]:
    """SQLite stops a SUM past 64 bits with "integer overflow": say it as a money error."""
    try:
        yield
    except OperationalError as exc:
        if "overflow" in str(exc.orig).lower():
            raise MoneyError(f"{what} would exceed the largest amount the ledger can hold; nothing was changed.") from None
        raise


def is_transient(exc: BaseException) -> bool:
    """A database error worth retrying: the server is unreachable or the connection broke
    (not a constraint, a conflict or bad SQL)."""
    if isinstance(exc, InterfaceError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        return True
    if not isinstance(exc, OperationalError):
        return False
    if type(exc.orig).__module__.startswith("sqlite3"):  # SQLite also reports "integer overflow" this way
        return any(word in str(exc.orig).lower() for word in _SQLITE_TRANSIENT)
    return True


def check_ready(engine: Engine) -> None:
    """Raise a one-sentence error unless the database is reachable and at the newest revision."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        if not Path(url.database).exists():
            raise NotInitialisedError(f"No ledger database at {url.database}; run `fairsplit init` first.")
    try:
        with engine.connect() as connection:
            current = _current_revision(connection)
    except OperationalError as exc:
        raise DatabaseUnavailableError(f"Cannot reach the database: {_first_line(exc)}.") from exc
    head = head_revision()
    if current is None:
        raise NotInitialisedError("The database has no ledger schema; run `fairsplit init` first.")
    if current != head:
        raise NotInitialisedError(f"The ledger schema is at {current}, not {head}; run `fairsplit init` to upgrade.")
