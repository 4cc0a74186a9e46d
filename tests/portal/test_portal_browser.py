"""The portal in a real browser (Debian's Chromium via Playwright) over the README's demo
world: login, every page, the split of an event, downloads, the in-browser verification
of an honest and of a tampered ledger, two artists side by side, a phone-width screen."""

from __future__ import annotations

import json
import sqlite3

import pytest

from services.portal.app import PortalConfig, create_app, read_only_engine
from tests.portal.conftest import Served

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
VERDICT = "#verify:not([data-state='pending'])"


def link(world, artist: str, base: str) -> str:
    result = world.cli("portal", "token", artist, "--portal-url", base, "--json")
    return json.loads(result.stdout)["link"]


def paid_artists(world) -> list[str]:
    with sqlite3.connect(world.folder / "fairsplit.db") as db:
        rows = db.execute("SELECT credit_account, count(*) FROM transfers WHERE kind = 'reward' AND "
                          "credit_account LIKE 'artist:%' GROUP BY credit_account ORDER BY count(*) DESC").fetchall()
    return [account.split(":", 1)[1] for account, _ in rows]


def events_without(world, artist: str) -> list[str]:
    """Events that paid some artist but never `artist`."""
    with sqlite3.connect(world.folder / "fairsplit.db") as db:
        return [e for (e,) in db.execute(
            "SELECT DISTINCT event_id FROM transfers WHERE kind = 'reward' AND credit_account LIKE 'artist:%' "
            "AND event_id NOT IN (SELECT event_id FROM transfers WHERE credit_account = ?)", (f"artist:{artist}",))]


def test_login_every_page_and_the_balance_verified_in_the_browser(world, world_portal, page):
    base = world_portal.url
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(link(world, "klimt", base))
    page.wait_for_url(base + "/")
    page.wait_for_selector(VERDICT, timeout=60_000)
    verdict = page.inner_text("#verdict")
    proven = page.inner_text("#balances tbody tr td:nth-child(4)")
    assert verdict.startswith("verified: ") and f"balance {proven} USD, checkpoint " in verdict, verdict
    assert page.get_attribute("#verdict", "class") == "verdict ok"
    assert "kept in this browser" in page.inner_text("#verify-details")
    page.reload()  # the next visit: the kept checkpoint is checked against the current one
    page.wait_for_selector(VERDICT, timeout=60_000)
    assert "same tree as the kept checkpoint" in page.inner_text("#verify-details") or "only grew" in page.inner_text("#verify-details")

    page.goto(base + "/history")
    rows = page.locator("#history tbody tr")
    assert rows.count() >= 2 and "reward" in page.inner_text("#history")
    page.goto(base + "/history?kind=payout")
    assert all(line.split("\t")[2] == "payout" for line in page.inner_text("#history tbody").splitlines())
    page.goto(base + f"/history?period={world.period}&kind=reward")
    assert world.period in page.inner_text("#history tbody")

    page.goto(base + "/history?kind=reward")
    page.click("#history a[href^='/events/']")
    page.wait_for_selector("#players")
    assert "artist:klimt" in page.inner_text("#players") and "v(" in page.inner_text("#values")
    assert "φ_" in page.inner_text("#formula") or "Shapley" in page.inner_text("#formula")
    picture = page.locator("img.explain")
    picture.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 600", arg=picture.element_handle(), timeout=240_000)

    page.goto(base + "/payouts")
    assert world.period in page.inner_text("#payouts")
    page.goto(base + "/statements")
    with page.expect_download() as download:
        page.click(f"a[href='/statements/{world.period}/USD.json']")
    statement = json.loads(open(download.value.path()).read())
    assert statement["account"] == "artist:klimt" and statement["period"] == world.period and statement["reconciles"]
    with page.expect_download() as download:
        page.click(f"a[href='/statements/{world.period}/USD.csv']")
    assert open(download.value.path()).read().startswith("seq,event_id,kind")

    page.goto(base + "/proof")
    with page.expect_download() as download:
        page.click("#bundle")
    bundle = json.loads(open(download.value.path()).read())
    assert bundle["account"] == "artist:klimt" and bundle["format"] == "fairsplit.balance-bundle/v1"
    page.click("button[type=submit]")  # sign out
    page.goto(base + "/")
    assert "Not signed in" in page.inner_text("main")
    assert errors == []


def test_two_artists_side_by_side_see_only_their_own(world, world_portal, browser):
    base = world_portal.url
    first, second = [a for a in paid_artists(world) if a != "klimt"][:1] + ["klimt"]
    pages = {}
    for artist in (first, second):
        context = browser.new_context()
        pages[artist] = context.new_page()
        pages[artist].goto(link(world, artist, base))
        pages[artist].wait_for_url(base + "/")
        pages[artist].wait_for_selector(VERDICT, timeout=60_000)
        assert pages[artist].inner_text("#verdict").startswith("verified: ")
    for artist, other in ((first, second), (second, first)):
        shown = pages[artist]
        assert f"artist:{artist}" in shown.inner_text("header") and f"artist:{other}" not in shown.inner_text("body")
        for event_id in events_without(world, artist)[:3]:
            shown.goto(f"{base}/events/{event_id}")
            assert "nothing of yours" in shown.inner_text("main")
        shown.goto(f"{base}/bundle.json?account=artist:{other}")
        assert json.loads(shown.inner_text("body"))["account"] == f"artist:{artist}"
        shown.goto(f"{base}/history")
        assert f"artist:{other}" not in shown.inner_text("body")
    for shown in pages.values():
        shown.context.close()


def test_a_tampered_ledger_is_never_shown_as_verified(world, tampered_world, page):
    engine = read_only_engine(f"sqlite:///{tampered_world}")
    with Served(create_app(engine, PortalConfig())) as served:
        result = world.cli("--database-url", f"sqlite:///{tampered_world}", "portal", "token", "klimt",
                           "--portal-url", served.url, "--json")
        page.goto(json.loads(result.stdout)["link"])
        page.wait_for_selector(VERDICT, timeout=60_000)
        verdict = page.inner_text("#verdict")
        assert verdict.startswith("NOT verified: ") and "altered" in verdict, verdict
        assert page.get_attribute("#verdict", "class") == "verdict bad"
    engine.dispose()


def test_pages_are_readable_on_a_phone(world, world_portal, browser):
    context = browser.new_context(viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True)
    phone = context.new_page()
    phone.goto(link(world, "klimt", world_portal.url))
    phone.wait_for_url(world_portal.url + "/")
    phone.wait_for_selector(VERDICT, timeout=60_000)
    for path in ("/", "/history", "/payouts", "/statements", "/proof"):
        phone.goto(world_portal.url + path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        font = phone.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert width <= 375 and font >= 14, (path, width, font)
    context.close()


def test_the_readme_journey_with_the_real_serve_portal_command(world, page):
    """`fairsplit portal token klimt` and `fairsplit serve portal`, as the README says, after `up --demo`."""
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.portal.conftest import free_port
    from tests.portal.world import ROOT

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "serve", "portal", "--listen", f"127.0.0.1:{port}",
                               "--portal-url", base], cwd=world.folder, env=world.env(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(base + "/keys.pem", timeout=2).read()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stdout.read().decode()
                time.sleep(0.2)
        page.goto(link(world, "klimt", base))
        page.wait_for_url(base + "/")
        page.wait_for_selector(VERDICT, timeout=60_000)
        assert page.inner_text("#verdict").startswith("verified: "), page.inner_text("#verdict")
    finally:
        server.terminate()
        server.wait(30)
