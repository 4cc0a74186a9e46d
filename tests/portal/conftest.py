"""Portal fixtures: a real Chromium (Debian's, driven by Playwright), the demo world (tests/conftest.py), a
portal served by uvicorn on a free port, and a fast ledger with two registered artists."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.portal.support import AccessEnv, make_access_env

CHROMIUM = os.environ.get("FAIRSPLIT_TEST_CHROMIUM", "/usr/bin/chromium")
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-background-networking"]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium; .ci/run does it)."
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    yield context.new_page()
    context.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """An ASGI app served by uvicorn in a thread, on a free loopback port."""

    def __init__(self, app) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    access_log=False, server_header=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the portal did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="session")
def world_portal(world) -> Iterator[Served]:
    """The portal over the demo world, read-only, as `fairsplit serve portal` builds it."""
    from commands.settings import read_settings
    from commands.wiring import portal_app

    settings = read_settings({"FAIRSPLIT_DATABASE_URL": world.database_url,
                              "FAIRSPLIT_MODEL_CACHE": os.environ["FAIRSPLIT_MODEL_CACHE"]})
    port = free_port()
    settings = settings.merge(portal_url=f"http://127.0.0.1:{port}")
    with Served(portal_app(settings)) as served:
        yield served


@pytest.fixture
def tampered_world(world, tmp_path) -> Path:
    """A copy of the demo world's database in which someone with write access edited one of
    klimt's booked amounts (the append-only trigger dropped first)."""
    import sqlite3

    copy = tmp_path / "tampered.db"
    with sqlite3.connect(world.folder / "fairsplit.db") as source, sqlite3.connect(copy) as target:
        source.backup(target)  # the WAL's pages included
    with sqlite3.connect(copy) as db:
        db.execute("DROP TRIGGER IF EXISTS transfers_no_update")
        seq = db.execute("SELECT max(seq) FROM transfers WHERE credit_account = 'artist:klimt' AND kind = 'reward'").fetchone()[0]
        db.execute("UPDATE transfers SET amount = amount + 1000000 WHERE seq = ?", (seq,))
    return copy


@pytest.fixture
def access_env(database_url, tmp_path) -> Iterator[AccessEnv]:
    env = make_access_env(database_url, tmp_path / "keys")
    yield env
    env.engine.dispose()
