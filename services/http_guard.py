"""Bounds that keep a small threaded HTTP server answering while clients are slow or greedy.

`http.server` alone gives a per-read timeout: a client that sends one byte every few
seconds holds its connection (and a thread) forever, and a few dozen such clients hold
every connection there is (Slowloris). This module adds what the witness needs:

- a whole-request deadline: from the moment a connection waits for a request (new or kept
  alive) until its body is read, at most `Limits.request_deadline_s`; past it the socket
  is shut down by one reaper thread, however steadily the bytes trickle in;
- bounded connections: at most `Limits.per_client` open connections from one address and
  `Limits.total` in all; a connection past either bound is closed at once;
- a strict `Content-Length`: exactly one header of 1-19 ASCII digits (no sign, no other
  script's digits, no duplicates, no Transfer-Encoding), at most the body limit, or one
  sentence with 400 / 411 / 413 — never an exception, never a dropped connection;
- one log line, no traceback, for whatever else goes wrong with one connection.
"""

from __future__ import annotations

import logging
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger("fairsplit.http")

_LENGTH = re.compile(r"[0-9]{1,19}")


@dataclass(frozen=True)
class Limits:
    """How long a request may take to arrive and how many connections are served."""

    request_deadline_s: float = 10.0  # request line, headers and body, from the first wait
    read_timeout_s: float = 5.0  # silence on one read
    per_client: int = 16  # open connections from one address
    total: int = 128  # open connections in all (one thread each)


class BadRequest(Exception):
    """A request refused before it is read: HTTP `status` and one sentence."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def content_length(headers, limit: int) -> int:
    """The body length the headers announce, strictly; BadRequest otherwise."""
    if headers.get("Transfer-Encoding") is not None:
        raise BadRequest(400, "Transfer-Encoding is not accepted; send the body with one Content-Length.")
    values = headers.get_all("Content-Length") or []
    if not values:
        raise BadRequest(411, "The request needs a Content-Length.")
    if len(values) > 1:
        raise BadRequest(400, "The request has more than one Content-Length.")
    if not _LENGTH.fullmatch(values[0].strip(" \t")):
        raise BadRequest(400, "The Content-Length must be 1 to 19 ASCII digits.")
    length = int(values[0].strip(" \t"))
    if length > limit:
        raise BadRequest(413, f"The request is larger than {limit} bytes.")
    return length


class Deadlines:
    """One daemon thread that shuts down every connection whose request is late."""

    def __init__(self, tick_s: float = 0.05) -> None:
        self._armed: dict[socket.socket, float] = {}
        self._expired: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._tick_s = tick_s
        threading.Thread(target=self._run, name="http-deadlines", daemon=True).start()

    def arm(self, connection: socket.socket, seconds: float) -> None:
        with self._lock:
            self._armed[connection] = time.monotonic() + seconds

    def disarm(self, connection: socket.socket) -> bool:
        """Stop the clock; False when the deadline had already passed (the socket is shut)."""
        with self._lock:
            self._armed.pop(connection, None)
            late = connection in self._expired
            self._expired.discard(connection)
        return not late

    def close(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._tick_s):
            now = time.monotonic()
            with self._lock:
                late = [c for c, deadline in self._armed.items() if deadline <= now]
                for connection in late:
                    del self._armed[connection]
                    self._expired.add(connection)
            for connection in late:
                try:
                    connection.shutdown(socket.SHUT_RDWR)  # the blocked read returns at once
                except OSError:
                    pass


class GuardedServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with per-client and total connection bounds and request deadlines."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.deadlines = Deadlines()
        self._open: dict[str, int] = {}
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def _take_slot(self, host: str) -> bool:
        with self._open_lock:
            if sum(self._open.values()) >= self.limits.total or self._open.get(host, 0) >= self.limits.per_client:
                return False
            self._open[host] = self._open.get(host, 0) + 1
            return True

    def _give_slot(self, host: str) -> None:
        with self._open_lock:
            self._open[host] -= 1
            if not self._open[host]:
                del self._open[host]

    def process_request(self, request, client_address) -> None:
        if not self._take_slot(client_address[0]):
            log.warning("refused a connection from %s: too many open connections", client_address[0])
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._give_slot(client_address[0])
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.deadlines.disarm(request)
            self._give_slot(client_address[0])

    def handle_error(self, request, client_address) -> None:
        """One line per failed connection (a client that vanished, a write that timed out)."""
        error = sys.exc_info()[1]
        log.info("connection from %s ended: %s", client_address[0], type(error).__name__ if error else "error")

    def server_close(self) -> None:
        self.deadlines.close()
        super().server_close()


class GuardedHandler(BaseHTTPRequestHandler):
    """A request handler whose request must arrive within the server's deadline."""

    protocol_version = "HTTP/1.1"  # keep-alive
    server: GuardedServer

    def setup(self) -> None:
        self.timeout = self.server.limits.read_timeout_s
        super().setup()
        # Headers and body leave in two writes: without this, Nagle's algorithm and the
        # client's delayed ACK hold every reply back for tens of milliseconds.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_one_request(self) -> None:
        self.server.deadlines.arm(self.connection, self.server.limits.request_deadline_s)
        super().handle_one_request()

    def reply(self, status: int, body: str, content_type: str = "text/plain; charset=utf-8", close: bool = False) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def request_arrived(self) -> bool:
        """Call once the request is read: stops its clock; False (and the connection is
        closed) when it came too late."""
        if self.server.deadlines.disarm(self.connection):
            return True
        self.close_connection = True
        return False

    def read_body(self, limit: int) -> bytes | None:
        """The request's body, read within the deadline; None after replying with the
        refusal (or when the client was too slow or went away)."""
        try:
            length = content_length(self.headers, limit)
        except BadRequest as refusal:
            if self.request_arrived():
                self.reply(refusal.status, refusal.message + "\n", close=True)
                self._linger()
            return None
        try:
            body = self.rfile.read(length)
        except (TimeoutError, OSError):
            body = b""
        if not self.request_arrived() or len(body) != length:
            self.close_connection = True
            return None
        return body

    def _linger(self, seconds: float = 1.0) -> None:
        """Before closing, read (briefly) what the client still sends: closing a socket with
        unread data resets the connection, and the client could lose the reply."""
        until = time.monotonic() + seconds
        try:
            self.connection.shutdown(socket.SHUT_WR)
            while (left := until - time.monotonic()) > 0:
                self.connection.settimeout(left)
                if not self.connection.recv(65536):
                    break
        except OSError:
            pass
