"""A plain HTTP client for the portal tests (http.client: no redirects followed, every
header visible)."""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    cookies: list[str]
    body: str


def request(url: str, cookie: str | None = None, method: str = "GET") -> Answer:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    connection.request(method, path, headers={"Cookie": cookie} if cookie else {})
    response = connection.getresponse()
    body = response.read().decode("utf-8", "replace")
    headers = {k.lower(): v for k, v in response.getheaders()}
    cookies = [v for k, v in response.getheaders() if k.lower() == "set-cookie"]
    connection.close()
    return Answer(response.status, headers, cookies, body)


def login(base: str, link_or_token: str) -> str:
    """The session cookie ("name=value") a login link opens; AssertionError if it opens none."""
    token = link_or_token.rsplit("token=", 1)[-1]
    answer = request(f"{base}/login?token={token}")
    assert answer.status == 200, answer.body
    return answer.cookies[0].split(";", 1)[0]
