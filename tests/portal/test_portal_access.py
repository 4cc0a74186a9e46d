"""Access to the portal: login links (256-bit tokens stored only as hashes, expiring,
revocable), strict session cookies, security headers on every page, rate-limited failed
logins, and isolation: a session sees only its own account whatever URL it asks for.
Real HTTP against uvicorn, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from starlette.routing import Mount
from typer.testing import CliRunner

from cli import app as cli_app
from ledger.books.portal_schema import PORTAL_TOKENS
from services.portal.app import PortalConfig, create_app, read_only_engine
from services.portal.sessions import CSP, LoginLimiter
from tests.payouts.support import eid
from tests.portal.conftest import Served
from tests.portal.http import login, request

PAGES = ("/", "/history", "/payouts", "/statements", "/proof", "/bundle.json")


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def cli(env, *args: str):
    return CliRunner().invoke(cli_app, ["--database-url", env.url, "--key-dir", env.key_dir, *args])


def link_for(env, artist: str, *extra: str) -> str:
    result = cli(env, "portal", "token", artist, "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["link"]


@pytest.fixture
def portal(access_env):
    clock = Clock()
    engine = read_only_engine(access_env.url)
    served = Served(create_app(engine, PortalConfig(clock=clock), LoginLimiter(per_client=5, window=60)))
    with served:
        served.clock = clock
        yield served
    engine.dispose()


def test_a_token_is_256_random_bits_and_only_its_hash_is_stored(access_env):
    links = {link_for(access_env, "van-gogh") for _ in range(3)}
    tokens = [link.rsplit("token=", 1)[1] for link in links]
    assert len(set(tokens)) == 3 and all(re.fullmatch(r"[A-Za-z0-9_-]{43}", t) for t in tokens)  # 32 bytes
    assert all(link.startswith("http://127.0.0.1:8780/login?token=") for link in links)
    with access_env.engine.connect() as connection:
        rows = connection.execute(select(PORTAL_TOKENS)).mappings().all()
    stored = " ".join(str(value) for row in rows for value in row.values())
    assert {row["token_hash"] for row in rows} == {hashlib.sha256(t.encode()).hexdigest() for t in tokens}
    assert not any(token in stored for token in tokens)
    expires = rows[0]["expires_at"].replace(tzinfo=UTC) - rows[0]["created_at"].replace(tzinfo=UTC)
    assert expires == timedelta(days=30)


def test_token_and_revoke_refuse_bad_input_with_one_sentence(access_env):
    for args, said in ((("portal", "token", "nobody"), "artist:nobody is not registered"),
                       (("portal", "token", "van-gogh", "--expires", "1y"), "--expires must be"),
                       (("portal", "token", "van-gogh", "--expires", "400d"), "between 1 minute and 366 days"),
                       (("portal", "revoke", "nobody"), "artist:nobody is not registered")):
        result = cli(access_env, *args)
        assert result.exit_code == 2 and said in result.output and "Traceback" not in result.output


def test_login_opens_a_strict_cookie_and_every_page_sends_the_security_headers(access_env, portal):
    answer = request(f"{portal.url}/login?token={link_for(access_env, 'van-gogh').rsplit('=', 1)[1]}")
    assert answer.status == 200 and 'http-equiv="refresh"' in answer.body
    (cookie,) = answer.cookies
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path", "samesite", "max-age"} <= attributes and "secure" not in attributes
    assert "samesite=strict" in cookie.lower()
    session = cookie.split(";", 1)[0]
    for path in (*PAGES, "/keys.pem", "/login", "/nowhere", "/static/portal.css"):
        page = request(portal.url + path, session)
        assert page.headers["content-security-policy"] == CSP, path
        assert "frame-ancestors 'none'" in CSP and "'unsafe-inline'" not in CSP and "script-src 'self'" in CSP
        assert page.headers["referrer-policy"] == "no-referrer" and page.headers["x-frame-options"] == "DENY"
        if page.headers.get("content-type", "").startswith("text/html"):
            assert not re.search(r"<script(?![^>]*\bsrc=)", page.body), path  # no inline script anywhere
            assert not re.search(r"\son[a-z]+=", page.body), path  # nor inline handlers


def test_cookies_are_secure_behind_tls(access_env):
    engine = read_only_engine(access_env.url)
    with Served(create_app(engine, PortalConfig(portal_url="https://portal.example"))) as served:
        answer = request(f"{served.url}/login?token={link_for(access_env, 'van-gogh').rsplit('=', 1)[1]}")
        assert answer.status == 200 and "; secure" in answer.cookies[0].lower()
    engine.dispose()


def test_expired_and_revoked_links_and_their_sessions_are_refused(access_env, portal):
    session = login(portal.url, link_for(access_env, "van-gogh", "--expires", "2h"))
    assert request(portal.url + "/", session).status == 200
    portal.clock.now += timedelta(hours=2, seconds=1)
    assert request(portal.url + "/", session).status == 401  # the session ends with its token
    portal.clock.now -= timedelta(hours=2, seconds=1)

    link = link_for(access_env, "van-gogh")
    session = login(portal.url, link)
    result = cli(access_env, "portal", "revoke", "van-gogh")
    assert result.exit_code == 0 and "2 live login links ended" in result.output
    refused = request(portal.url + "/", session)
    assert refused.status == 401 and "Not signed in" in refused.body and "van-gogh" not in refused.body
    assert request(f"{portal.url}/login?token={link.rsplit('=', 1)[1]}").status == 401
    assert login(portal.url, link_for(access_env, "van-gogh"))  # a new link after the revocation works


def test_failed_logins_are_rate_limited(access_env, portal):
    good = link_for(access_env, "van-gogh").rsplit("=", 1)[1]
    for guess in ("x", "A" * 43, good[:-1] + ("A" if good[-1] != "A" else "B"), "", "%00"):
        answer = request(f"{portal.url}/login?token={guess}")
        assert answer.status == 401 and "not valid" in answer.body and not answer.cookies
    limited = request(f"{portal.url}/login?token={good}")
    assert limited.status == 429 and not limited.cookies  # even the right token waits out the window
    forged = request(portal.url + "/", "fairsplit_session=eyJ9.AAAA")
    assert forged.status == 401


def _walk(served, session: str, other: str, other_events: list[str]) -> list[tuple[str, int, str]]:
    """Every route of the portal, filled with the other artist's ids and asked for their account."""
    app = served.server.config.app.app
    answers = []
    fills = {"event_id": other_events, "period": ["2026-11"], "currency": ["USD"], "fmt": ["csv", "json"]}
    for route in app.routes:
        if isinstance(route, Mount):
            continue
        paths = [route.path]
        for name, values in fills.items():
            paths = [p.replace("{" + name + "}", v) for p in paths for v in (values if "{" + name + "}" in p else [name])]
        for path in paths:
            for query in ("", f"?account=artist:{other}&artist={other}&id={other}&since=0"):
                answer = request(served.url + path + query, session, "POST" if path == "/logout" else "GET")
                answers.append((path + query, answer.status, answer.body))
    return answers


def test_a_session_sees_only_its_own_account_whatever_url_it_asks(access_env, portal):
    session = login(portal.url, link_for(access_env, "van-gogh"))
    answers = _walk(portal, session, "monet", access_env.events_of("monet"))
    assert len(answers) > 20
    for path, status, body in answers:
        assert "monet" not in body, path
        for event_id in access_env.events_of("monet"):
            assert event_id not in body, path
        if path.startswith("/events/"):
            assert status == 404 and "nothing of yours" in body, path
    mine = {path: (status, body) for path, status, body in
            _walk(portal, login(portal.url, link_for(access_env, "van-gogh")), "van-gogh", access_env.events_of("van-gogh"))}
    assert mine[f"/events/{eid('van-gogh-0')}"][0] == 200
    assert "artist:van-gogh" in mine["/bundle.json"][1] and mine["/statements/2026-11/USD.csv"][0] == 200


def test_bad_input_is_one_sentence_never_a_traceback(access_env, portal):
    session = login(portal.url, link_for(access_env, "van-gogh"))
    for path, status, said in (("/history?page=0", 400, "page must be"), ("/history?page=x", 400, "page must be"),
                               ("/history?kind=gift", 400, "kind must be"), ("/history?period=2026-13", 400, "months run"),
                               ("/history?currency=usd", 400, "three-letter"), ("/events/not-an-id", 404, "nothing of yours"),
                               ("/bundle.json?since=-1", 400, "tree size"), ("/bundle.json?since=999", 400, "between 0"),
                               ("/statements/2026-13/USD.csv", 404, "nothing"), ("/statements/2026-11/USD.xlsx", 404, "nothing")):
        answer = request(portal.url + path, session)
        assert answer.status == status and said in answer.body, (path, answer.status, answer.body[:300])
        assert "Traceback" not in answer.body and "sqlalchemy" not in answer.body.lower()


def test_on_sqlite_the_portal_opens_the_ledger_read_only(sqlite_url, tmp_path):
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from tests.portal.support import make_access_env

    env = make_access_env(sqlite_url, tmp_path / "keys")
    engine = read_only_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM transfers")).scalar() == 15  # 3 key entries, 12 rewards
        for statement in ("INSERT INTO portal_revocations (artist_id, revoked_at) VALUES ('monet', '2026-12-01')",
                          "CREATE TABLE sessions (id text)"):
            with pytest.raises(OperationalError, match="readonly database"):
                connection.execute(text(statement))
    engine.dispose()
    env.engine.dispose()
