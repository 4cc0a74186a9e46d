"""The test databases: fresh ones, and migrated ledgers cloned from a template made once per session.

Running the whole Alembic chain in every database test was the suite's main database cost;
creating and dropping a PostgreSQL database was the next (a DROP DATABASE forces a
checkpoint: about a second on a busy server). So:

- the chain runs once per session and backend, into a template built from the migrations
  that exist when the session starts (alembic's head then): a SQLite file, or a PostgreSQL
  database;
- a test's migrated database is a copy of that file, or `CREATE DATABASE … TEMPLATE …`;
- PostgreSQL databases are created a few ahead and dropped behind, by background threads
  with their own admin connections, so a test waits for neither; drops run several at a
  time, so that one checkpoint serves several of them.

Nothing is built until a test asks for it; `close()` (the session's end) drops what is left.
A test never sees a database another test used.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import threading
import uuid
import warnings
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from sqlalchemy.engine import make_url

from ledger.books.db import make_engine, sqlalchemy_url, upgrade_to_head

PG_ADMIN_URL = os.environ.get("FAIRSPLIT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
EMPTY = ""  # the "template" of an empty database: PostgreSQL's default (template1)


class PostgresUnavailable(RuntimeError):
    """The test server did not answer (the fixtures skip, or fail in CI)."""


class PostgresDatabases:
    """Fresh databases on the test server: empty, or clones of the session's migrated template.

    `take()` returns a database made ahead for it and orders the next (a few are kept
    ready, made concurrently). `give_back()` returns at once: databases are dropped in
    batches, all of a batch at the same moment, because each DROP DATABASE waits for a
    checkpoint and simultaneous drops share one (8 drops: 21 s one after the other, 0.8 s
    together, on the loaded test machine). Each thread has its own admin connection."""

    AHEAD = 2  # databases of each kind kept ready
    DROP_BATCH = 8  # databases dropped together

    def __init__(self, admin_url: str = PG_ADMIN_URL) -> None:
        self.admin_url = admin_url
        self._base = admin_url.rsplit("/", 1)[0]
        self._creators = ThreadPoolExecutor(self.AHEAD, thread_name_prefix="test-databases-create")
        self._batches = ThreadPoolExecutor(1, thread_name_prefix="test-databases-batch")
        self._droppers = ThreadPoolExecutor(self.DROP_BATCH, thread_name_prefix="test-databases-drop")
        self._connections = threading.local()
        self._opened: list = []
        self._ahead: dict[str, deque[Future]] = {}
        self._template: str | None = None
        self._clones: set[str] = set()
        self._to_drop: list[str] = []
        self.failures: list[str] = []

    def url(self, name: str) -> str:
        return sqlalchemy_url(f"{self._base}/{name}")

    def take(self, migrated: bool) -> str:
        """The name of a new database of its own for one test (migrated to head, or empty)."""
        template = self._migrated_template() if migrated else EMPTY
        ahead = self._ahead.setdefault(template, deque())
        name = self._result(ahead.popleft()) if ahead else None
        if name is None:
            name = self._result(self._creators.submit(self._create, template), raise_=True)
        while len(ahead) < self.AHEAD:
            ahead.append(self._creators.submit(self._create, template))
        if migrated:
            self._clones.add(name)
        return name

    def is_migrated_clone(self, url: str) -> bool:
        """True for a clone `take(migrated=True)` handed out: it is at head already."""
        return make_url(sqlalchemy_url(url)).database in self._clones

    def give_back(self, name: str) -> None:
        """Drop `name` soon, in the background (engines still connected to it are cut: FORCE)."""
        self._clones.discard(name)
        self._to_drop.append(name)
        if len(self._to_drop) >= self.DROP_BATCH:
            self._drop_batch()

    def close(self) -> None:
        """Drop the databases made ahead, the template and the rest; wait for every drop."""
        for ahead in self._ahead.values():
            for future in ahead:
                name = self._result(future)
                if name:
                    self._to_drop.append(name)
        self._ahead.clear()
        if self._template:
            self._to_drop.append(self._template)
            self._template = None
        self._drop_batch()
        for pool in (self._creators, self._batches, self._droppers):
            pool.shutdown(wait=True)
        for connection in self._opened:
            connection.close()
        self._opened.clear()
        if self.failures:
            warnings.warn("test databases left behind: " + "; ".join(self.failures), stacklevel=1)

    def _drop_batch(self) -> None:
        names, self._to_drop = self._to_drop, []
        if names:
            self._batches.submit(lambda: list(self._droppers.map(self._drop, names)))

    # --- the template -------------------------------------------------------------

    def _migrated_template(self) -> str:
        if self._template is None:
            name = self._result(self._creators.submit(self._create, EMPTY, "fs_tpl"), raise_=True)
            engine = make_engine(self.url(name))
            try:
                upgrade_to_head(engine)
            finally:
                engine.dispose()  # a template with a connection cannot be cloned
            self._template = name
        return self._template

    # --- in the background threads -----------------------------------------------

    def _execute(self, statement: str) -> None:
        import psycopg

        admin = getattr(self._connections, "admin", None)
        if admin is None:
            try:
                admin = psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5)
            except psycopg.OperationalError as exc:
                raise PostgresUnavailable(str(exc).strip()) from exc
            self._connections.admin = admin
            self._opened.append(admin)
        admin.execute(statement)

    def _create(self, template: str, prefix: str = "fs_test") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:16]}"
        self._execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def _drop(self, name: str) -> None:
        try:
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except Exception as exc:  # noqa: BLE001 - reported once, at the session's end
            self.failures.append(f"{name}: {str(exc).strip()}")

    @staticmethod
    def _result(future: Future, raise_: bool = False) -> str | None:
        """A made-ahead database's name, or None when making it failed (it is made again)."""
        try:
            return future.result()
        except PostgresUnavailable:
            raise
        except Exception:
            if raise_:
                raise
            return None


class SqliteTemplate:
    """The session's migrated SQLite file, copied for each test that wants a ledger."""

    def __init__(self) -> None:
        self._directory: str | None = None
        self._path: Path | None = None

    def copy_to(self, path: Path) -> None:
        shutil.copyfile(self._built(), path)

    def _built(self) -> Path:
        if self._path is None:
            self._directory = tempfile.mkdtemp(prefix="fairsplit-template-")
            path = Path(self._directory) / "template.db"
            engine = make_engine(f"sqlite:///{path}")
            try:
                upgrade_to_head(engine)
            finally:
                engine.dispose()
            with sqlite3.connect(path) as connection:  # everything in the main file, nothing in the WAL
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._path = path
        return self._path

    def close(self) -> None:
        if self._directory:
            shutil.rmtree(self._directory, ignore_errors=True)
        self._directory = self._path = None


POSTGRES = PostgresDatabases()
SQLITE = SqliteTemplate()


def migrated_sqlite_url(directory: Path) -> str:
    """A new SQLite ledger at head in `directory` (a copy of the session's template)."""
    path = Path(directory) / "ledger.db"
    SQLITE.copy_to(path)
    return f"sqlite:///{path}"


def migrate_fresh(url: str) -> None:
    """Bring a test database at `url` to head, the cheap way when there is one: a SQLite file
    that does not exist yet becomes a copy of the template, a clone is at head already;
    anything else runs the chain (a no-op on a database at head)."""
    parsed = make_url(sqlalchemy_url(url))
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if not path.exists():
            SQLITE.copy_to(path)
            return
    elif POSTGRES.is_migrated_clone(url):
        return
    engine = make_engine(url)
    try:
        upgrade_to_head(engine)
    finally:
        engine.dispose()


def close() -> None:
    """The session's end: drop what is left on the server, remove the template file."""
    POSTGRES.close()
    SQLITE.close()
