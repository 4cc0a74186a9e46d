"""The ledger asks its witnesses to cosign: HTTP client of the C2SP tlog-witness protocol.

`WitnessPool.cosign_latest(engine)` submits the newest checkpoint to every configured
witness that has not cosigned it, with a consistency proof from the size that witness
holds (the largest it cosigned for us, else 0; a 409 Conflict names its real size and
the request is proven again from there, once). Returned cosignatures are verified and
kept (`ledger.transparency.witnessing`). It never raises: each witness gets an `WitnessOutcome`, and a
witness that is down is skipped with growing backoff (1 s … 5 min) until it answers.

`start(engine)` runs the same in a background thread, woken by `notify()` after each new
checkpoint and at least every `retry_s`, so booking never waits on a witness: a witness
that is down only delays cosigning, and a later round retries what is missing.

Configuration (read by the caller, passed in): `parse_witness_list` reads
"<url> <vkey>, <url> <vkey>, …".
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import Engine

from ledger.tlog.checkpoint import CheckpointError
from ledger.errors import first_line
from ledger.tlog.cosignature import CosignerKey, parse_vkey
from ledger.tlog.witness_protocol import SIZE_CONTENT_TYPE, format_request, origin_hash, parse_size_response
from ledger.transparency.witnessing import last_cosigned_size, record_cosignature, submission
from services.safe_text import printable_line

log = logging.getLogger("fairsplit.witnesses")

MAX_RESPONSE_BYTES = 64 << 10
MAX_BACKOFF_S = 300.0


@dataclass(frozen=True)
class WitnessEndpoint:
    """Where a witness listens (its submission prefix) and the key it cosigns with."""

    url: str
    key: CosignerKey

    @property
    def name(self) -> str:
        return self.key.name


def parse_witness_list(text: str) -> list[WitnessEndpoint]:
    """Witnesses from "<url> <vkey>" entries separated by commas; ValueError with one sentence."""
    endpoints: list[WitnessEndpoint] = []
    for number, entry in enumerate((part.strip() for part in text.split(",")), 1):
        if not entry:
            continue
        fields = entry.split()
        if len(fields) != 2:
            raise ValueError(f"Witness entry {number} must be '<url> <vkey>'.")
        url, vkey = fields
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"Witness entry {number}: {url!r} is not an http(s) URL prefix.")
        try:
            key = parse_vkey(vkey)
        except CheckpointError as exc:
            raise ValueError(f"Witness entry {number}: {exc}") from None
        if any(e.key.name == key.name for e in endpoints):
            raise ValueError(f"Witness {key.name} is listed twice.")
        endpoints.append(WitnessEndpoint(url.rstrip("/"), key))
    return endpoints


@dataclass(frozen=True)
class WitnessOutcome:
    witness: str
    status: str  # cosigned | up-to-date | refused | conflict | down | waiting | error
    detail: str = ""
    tree_size: int | None = None

    def as_dict(self) -> dict:
        return {"witness": self.witness, "status": self.status, "detail": self.detail, "tree_size": self.tree_size}


def _request(method: str, url: str, timeout_s: float, body: bytes | None = None) -> tuple[int, str, bytes]:
    """(status, content type, at most MAX_RESPONSE_BYTES + 1 bytes of body) of one HTTP exchange."""
    parts = urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname, parts.port, timeout=timeout_s)
    try:
        headers = {} if body is None else {"Content-Type": "text/plain; charset=utf-8"}
        connection.request(method, parts.path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read(MAX_RESPONSE_BYTES + 1)
        return response.status, response.getheader("Content-Type", ""), data
    finally:
        connection.close()


def fetch_view(endpoint: WitnessEndpoint, origin: str, timeout_s: float = 5.0) -> str | None:
    """The latest checkpoint `endpoint` cosigned for `origin` (its monitoring API); None if none.

    OSError / http.client.HTTPException when the witness cannot be asked.
    """
    status, _, data = _request("GET", f"{endpoint.url}/{origin_hash(origin)}/checkpoint", timeout_s)
    if status == 404:
        return None
    if status != 200 or len(data) > MAX_RESPONSE_BYTES:
        raise http.client.HTTPException(f"HTTP {status}: {_sentence(data)}")
    return data.decode("utf-8", "replace")


def _sentence(data: bytes) -> str:
    """A witness's refusal, as one printable line (it is someone else's text)."""
    return printable_line(first_line(data[:300].decode("utf-8", "replace"), 200), 200) or "no reason given"


class WitnessPool:
    """The configured witnesses, and what this process knows of each (size held, backoff)."""

    def __init__(self, endpoints: Sequence[WitnessEndpoint], quorum: int | None = None, timeout_s: float = 5.0,
                 retry_s: float = 30.0, backoff_s: float = 1.0) -> None:
        self.endpoints = list(endpoints)
        self.quorum = len(self.endpoints) if quorum is None else quorum
        if self.endpoints and not 1 <= self.quorum <= len(self.endpoints):
            raise ValueError(f"The witness quorum must be between 1 and {len(self.endpoints)}.")
        self.timeout_s, self.retry_s, self.backoff_s = timeout_s, retry_s, backoff_s
        self._held: dict[str, int] = {}
        self._backoff: dict[str, tuple[float, float]] = {}  # name -> (retry at, current delay)
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self._round = threading.Lock()

    # --- one round ------------------------------------------------------------------

    def cosign_latest(self, engine: Engine) -> list[WitnessOutcome]:
        """Ask every witness to cosign the newest checkpoint; never raises."""
        with self._round:
            return [self._ask(engine, endpoint) for endpoint in self.endpoints]

    def _ask(self, engine: Engine, endpoint: WitnessEndpoint) -> WitnessOutcome:
        name = endpoint.name
        retry_at, _ = self._backoff.get(name, (0.0, 0.0))
        if time.monotonic() < retry_at:
            return WitnessOutcome(name, "waiting", "the witness was down; retrying later")
        try:
            outcome = self._submit(engine, endpoint)
        except (OSError, http.client.HTTPException) as exc:
            _, delay = self._backoff.get(name, (0.0, 0.0))
            delay = min(MAX_BACKOFF_S, max(self.backoff_s, delay * 2))
            self._backoff[name] = (time.monotonic() + delay, delay)
            log.warning("witness %s at %s is unreachable (%s); retrying in %.0f s", name, endpoint.url, exc, delay)
            return WitnessOutcome(name, "down", f"unreachable: {exc}")
        except Exception as exc:  # noqa: BLE001 - a witness must never break the ledger
            log.exception("asking witness %s failed", name)
            return WitnessOutcome(name, "error", f"unexpected error: {type(exc).__name__}")
        self._backoff.pop(name, None)
        if outcome.status in ("refused", "conflict"):
            log.error("witness %s: %s", name, outcome.detail)
        return outcome

    def _submit(self, engine: Engine, endpoint: WitnessEndpoint) -> WitnessOutcome:
        name, key = endpoint.name, endpoint.key
        old = self._held.get(name)
        if old is None:
            old = last_cosigned_size(engine, key)
        for _ in range(2):
            try:
                wanted = submission(engine, key, old)
            except ValueError as exc:
                return WitnessOutcome(name, "conflict", str(exc), old)
            if wanted is None:
                return WitnessOutcome(name, "up-to-date", "", old)
            size = wanted.checkpoint.size
            body = format_request(old, wanted.proof, wanted.checkpoint.note)
            status, content_type, data = _request("POST", endpoint.url + "/add-checkpoint", self.timeout_s, body)
            if status == 200:
                try:
                    record_cosignature(engine, wanted.checkpoint, key, data.decode("utf-8", "replace"))
                except CheckpointError as exc:
                    return WitnessOutcome(name, "refused", f"bad cosignature: {exc}", size)
                self._held[name] = size
                return WitnessOutcome(name, "cosigned", "", size)
            if status == 409 and content_type.split(";")[0].strip() == SIZE_CONTENT_TYPE:
                try:
                    held = parse_size_response(data)
                except ValueError as exc:
                    return WitnessOutcome(name, "refused", str(exc), size)
                self._held[name] = held
                if held == old:  # the size we named, so another root hash: a fork (C2SP tlog-witness)
                    return WitnessOutcome(name, "refused", f"HTTP 409: the witness holds another root hash for size "
                                          f"{held}: this log is not consistent with what it cosigned", size)
                old = held
                continue
            if status >= 500:
                raise http.client.HTTPException(f"HTTP {status}: {_sentence(data)}")
            return WitnessOutcome(name, "refused", f"HTTP {status}: {_sentence(data)}", size)
        return WitnessOutcome(name, "conflict", f"the witness's size keeps changing (now {old})", old)

    # --- in the background ------------------------------------------------------------

    def start(self, engine: Engine) -> None:
        """Cosign in a daemon thread: after each `notify()`, and every `retry_s` regardless."""
        if not self.endpoints or self._thread is not None:
            return

        def run() -> None:
            while not self._stop.is_set():
                self._wake.wait(self.retry_s)
                self._wake.clear()
                if not self._stop.is_set():
                    self.cosign_latest(engine)

        self._thread = threading.Thread(target=run, name="witness-cosigner", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """A new checkpoint exists: cosign it soon (returns at once)."""
        self._wake.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
