"""The artists' portal as a Starlette application (served by uvicorn, `fairsplit serve portal`).

Every page but /login, the public keys, the offline verifier and the static files needs a
session, and shows only the session's account: no route takes an artist id, and every id
a route does take is looked up within the session's account (`views`). Every response
carries the headers of `sessions.HEADERS` (strict CSP without inline script, no framing,
no referrer). Errors are one sentence on a page; no traceback reaches a browser.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ledger.keys.lifecycle import public_keyring
from ledger.transparency.proving import balance_bundle
from ledger.transparency.tree import TransparencyError
from services.portal import views
from services.portal.offline import verifier_html
from services.portal.sessions import COOKIE, HEADERS, LoginLimiter, Session, SessionSigner, session_expiry
from services.portal.tokens import artist_for_token, token_alive

HERE = Path(__file__).resolve().parent
EXPLAINED_KEPT = 16


@dataclass(frozen=True)
class PortalConfig:
    """What the portal needs besides the database: its public address (https: Secure
    cookies), the witnesses' vkey lines and quorum the page requires, and how to draw an
    event's explain picture (None: not offered)."""

    portal_url: str = "http://127.0.0.1:8780"
    witness_vkeys: tuple[str, ...] = ()
    witness_quorum: int | None = None
    explain: Callable[[str], bytes] | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


def create_app(engine: Engine, config: PortalConfig = PortalConfig(), limiter: LoginLimiter | None = None) -> Starlette:
    templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
    signer, limiter = SessionSigner(), limiter or LoginLimiter()
    secure = config.portal_url.startswith("https://")
    pictures: OrderedDict[str, bytes] = OrderedDict()
    drawing = threading.Lock()  # one picture at a time: bounded compute

    def page(name: str, status: int = 200, **context) -> HTMLResponse:
        return HTMLResponse(templates.get_template(name).render(**context), status_code=status)

    def message(title: str, text: str, status: int, session: Session | None = None) -> HTMLResponse:
        return page("message.html", status, title=title, text=text, session=session)

    def session_of(request: Request) -> Session | None:
        now = config.clock()
        session = signer.open(request.cookies.get(COOKIE), now)
        if session is None:
            return None
        alive = token_alive(engine, session.token_hash, now)
        return session if alive is not None and alive[0] == session.artist_id else None

    def signed_in(handler):
        async def wrapped(request: Request) -> Response:
            session = await run_in_threadpool(session_of, request)
            if session is None:
                return message("Not signed in", "Open the login link you were given (ask for a new one if it "
                               "expired).", 401)
            try:
                return await run_in_threadpool(handler, request, session)
            except views.NotFound:
                return message("Not found", "There is nothing of yours at this address.", 404, session)
            except ValueError as exc:
                return message("Not understood", str(exc), 400, session)
        return wrapped

    async def login(request: Request) -> Response:
        client = request.client.host if request.client else "unknown"
        if not limiter.allowed(client):
            return message("Too many attempts", "Too many failed logins; wait a minute and try again.", 429)
        now = config.clock()
        found = await run_in_threadpool(artist_for_token, engine, request.query_params.get("token"), now)
        if found is None:
            limiter.failed(client)
            return message("Link not valid", "This login link is not valid: it expired, was revoked or was "
                           "mistyped. Ask for a new one.", 401)
        artist_id, hashed, expires = found
        response = page("login.html", artist=artist_id)
        cookie = signer.seal(Session(artist_id, hashed, session_expiry(expires, now)))
        response.set_cookie(COOKIE, cookie, max_age=int((session_expiry(expires, now) - now).total_seconds()),
                            httponly=True, samesite="strict", secure=secure, path="/")
        return response

    async def logout(request: Request) -> Response:
        response = message("Signed out", "You are signed out. Your login link still works until it expires.", 200)
        response.delete_cookie(COOKIE, httponly=True, samesite="strict", secure=secure, path="/")
        return response

    def balance(request: Request, session: Session) -> Response:
        shown = views.balance_page(engine, session.account)
        proven = {row.currency: str(row.proven_micros) for row in shown.rows}
        return page("balance.html", session=session, view=shown, proven=json.dumps(proven, sort_keys=True),
                    quorum=config.witness_quorum or len(config.witness_vkeys), witnesses=bool(config.witness_vkeys))

    def history(request: Request, session: Session) -> Response:
        filters = views.HistoryFilters.parse(dict(request.query_params))
        lines, more = views.history_page(engine, session.account, filters)
        return page("history.html", session=session, lines=lines, more=more, filters=filters, kinds=views.KINDS)

    def event(request: Request, session: Session) -> Response:
        shown = views.event_page(engine, session.account, request.path_params["event_id"])
        return page("event.html", session=session, event=shown, picture=config.explain is not None)

    def explain_png(request: Request, session: Session) -> Response:
        event_id = views.event_page(engine, session.account, request.path_params["event_id"]).event_id
        if config.explain is None:
            raise views.NotFound(event_id)
        with drawing:
            if event_id not in pictures:
                pictures[event_id] = config.explain(event_id)
                while len(pictures) > EXPLAINED_KEPT:
                    pictures.popitem(last=False)
            png = pictures[event_id]
        return Response(png, media_type="image/png")

    def payouts(request: Request, session: Session) -> Response:
        return page("payouts.html", session=session, payouts=views.payouts_page(engine, session.account))

    def statements(request: Request, session: Session) -> Response:
        return page("statements.html", session=session, periods=views.statement_periods(engine, session.account))

    def statement(request: Request, session: Session) -> Response:
        p = request.path_params
        data, media = views.statement_file(engine, session.account, p["period"], p["currency"], p["fmt"])
        name = f"statement-{session.artist_id}-{p['period']}-{p['currency']}.{p['fmt']}"
        return Response(data, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"'})

    def proof(request: Request, session: Session) -> Response:
        return page("proof.html", session=session, witnesses=bool(config.witness_vkeys))

    def bundle(request: Request, session: Session) -> Response:
        since_text = request.query_params.get("since")
        since = None
        if since_text is not None:
            if not (since_text.isascii() and since_text.isdigit() and len(since_text) <= 19):
                raise ValueError("since must be a tree size (a whole number).")
            since = int(since_text)
        try:
            document = balance_bundle(engine, session.account, None, since)
        except TransparencyError as exc:  # no checkpoint yet (409), or a since beyond it (400)
            said = str(exc).replace("--since", "since")
            return PlainTextResponse(said, status_code=400 if said.startswith("since") else 409)
        return Response(json.dumps(document, indent=2, sort_keys=True) + "\n", media_type="application/json")

    async def keys(request: Request) -> Response:
        text = await run_in_threadpool(lambda: public_keyring(engine).render())
        return PlainTextResponse(text)

    async def witnesses(request: Request) -> Response:
        return PlainTextResponse("".join(line + "\n" for line in config.witness_vkeys))

    async def offline(request: Request) -> Response:
        return HTMLResponse(verifier_html(), headers={"content-disposition": 'attachment; filename="verify.html"'})

    routes = [
        Route("/login", login), Route("/logout", logout, methods=["POST"]),
        Route("/", signed_in(balance)), Route("/history", signed_in(history)),
        Route("/events/{event_id}", signed_in(event)), Route("/events/{event_id}/explain.png", signed_in(explain_png)),
        Route("/payouts", signed_in(payouts)), Route("/statements", signed_in(statements)),
        Route("/statements/{period}/{currency}.{fmt}", signed_in(statement)),
        Route("/proof", signed_in(proof)), Route("/bundle.json", signed_in(bundle)),
        Route("/keys.pem", keys), Route("/witnesses.txt", witnesses), Route("/verify.html", offline),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={404: _not_found(message), 405: _not_found(message),
                                                      500: _server_error(message)})
    return SecurityHeaders(app)


def read_only_engine(url: str) -> Engine:
    """The portal's engine: SQLite opened read-only (mode=ro); any other URL as given — on
    PostgreSQL it names the SELECT-only role (`services.portal.grants`)."""
    from sqlalchemy import create_engine, make_url

    from ledger.books.db import make_engine, sqlalchemy_url

    parsed = make_url(sqlalchemy_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return make_engine(url)
    import sqlite3

    path = Path(parsed.database).resolve()
    return create_engine(f"sqlite:///{path}", creator=lambda: sqlite3.connect(
        f"file:{path}?mode=ro", uri=True, timeout=30, check_same_thread=False))


def _not_found(message):
    async def handler(request: Request, exc: Exception) -> Response:
        return message("Not found", "There is nothing of yours at this address.", 404)
    return handler


def _server_error(message):
    async def handler(request: Request, exc: Exception) -> Response:
        return message("Something went wrong", "The portal could not answer; try again later.", 500)
    return handler


class SecurityHeaders:
    """ASGI middleware: every response gets the portal's security headers."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in HEADERS.items() if k.encode() not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)
