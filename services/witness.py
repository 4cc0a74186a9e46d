"""A transparency-log witness: the C2SP tlog-witness HTTP service over a directory.

    POST /add-checkpoint                 cosign a checkpoint consistent with the last one
    GET  /<sha256(origin), hex>/checkpoint   the latest checkpoint cosigned for that log

The witness has its own Ed25519 key and keeps, per log origin, only the latest checkpoint
it cosigned — never entries. Its directory (created by `init_witness`, mode 0700):

    witness.key             private key, PKCS#8 PEM, mode 0600 (refused otherwise)
    witness.vkey            its public verifier key line: the file to hand to verifiers
    checkpoints/<hash>      latest cosigned note per origin (log signature + cosignature)
    evidence/<hash>-…       validly signed checkpoints it refused as inconsistent (at most 1000)
    serve.lock              held by the one process serving this directory

Invariants: a checkpoint is cosigned only if `ledger.tlog.witness_protocol.decide` accepts it
against the stored one, and the check, the write of the new state (to a temporary file,
fsync, rename, fsync of the directory) and the reply happen under the origin's lock, so
two requests can never roll the state back. State survives restarts because it is only
ever the file. It stores only what it verified or made: the checkpoint text, the log's
signature lines that verified, its own cosignature — never other lines a client sent.
The logs it trusts are the ledger public keys files given at start (re-read when they
change, so a rotated key file is picked up); a checkpoint is cosigned only when signed
by the key the file makes current at its size, and only when its time line does not go
back from the checkpoint held. Slow and greedy clients are bounded by
`services.http_guard` (a whole-request deadline, connections per client and in all, a
strict Content-Length).
"""

from __future__ import annotations

import base64
import fcntl
import logging
import os
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.tlog.checkpoint import SIGNATURE_PREFIX, Checkpoint, CheckpointError, NoteKey, parse_note
from ledger.tlog.cosignature import CosignerKey, cosign, parse_key_file
from ledger.errors import SigningKeyError
from ledger.tlog.public_keys import Keyring, KeyringError, parse_keyring, public_key_id
from ledger.keys.signing import read_key
from ledger.tlog.witness_protocol import (MAX_REQUEST_BYTES, SIZE_CONTENT_TYPE, AddCheckpoint, Refusal, decide, origin_hash,
                                     origin_of, parse_request)
from services.http_guard import GuardedHandler, GuardedServer, Limits

log = logging.getLogger("fairsplit.witness")

KEY_FILE, VKEY_FILE, LOCK_FILE = "witness.key", "witness.vkey", "serve.lock"
MAX_EVIDENCE = 1000
_STATE_PATH = re.compile(r"/([0-9a-f]{64})/checkpoint")


class WitnessError(Exception):
    """The witness cannot start or run; the message is one sentence for the operator."""


# --- the directory ------------------------------------------------------------------


def init_witness(directory: str | Path, name: str) -> CosignerKey:
    """Create a witness directory with a new key named `name`; refuses to overwrite one."""
    directory = Path(directory)
    try:
        CosignerKey(name, Ed25519PrivateKey.generate().public_key())
    except CheckpointError as exc:
        raise WitnessError(f"Witness name {name!r} is not usable: {exc}") from None
    if (directory / KEY_FILE).exists():
        raise WitnessError(f"{directory} already holds a witness key; use another directory.")
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        for sub in ("checkpoints", "evidence"):
            (directory / sub).mkdir(mode=0o700, exist_ok=True)
        private_key = Ed25519PrivateKey.generate()
        pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
        fd = os.open(directory / KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        key = CosignerKey(name, private_key.public_key())
        _write_atomically(directory / VKEY_FILE, (key.vkey() + "\n").encode(), 0o644)
    except OSError as exc:
        raise WitnessError(f"Cannot create the witness in {directory}: {exc.strerror}.") from None
    return key


@dataclass(frozen=True)
class WitnessIdentity:
    key: CosignerKey
    private_key: Ed25519PrivateKey


def load_identity(directory: Path) -> WitnessIdentity:
    """The witness key (0600 file) and its name (from the vkey file, which must match it)."""
    if not (directory / KEY_FILE).exists():
        raise WitnessError(f"{directory} is not a witness directory; run `fairsplit witness init --dir {directory}`.")
    try:
        private_key = read_key(directory / KEY_FILE).private_key
        keys = parse_key_file((directory / VKEY_FILE).read_bytes())
    except SigningKeyError as exc:
        raise WitnessError(str(exc)) from None
    except (OSError, CheckpointError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise WitnessError(f"Cannot read {directory / VKEY_FILE}: {reason}") from None
    key = keys[0]
    if len(keys) != 1 or key.raw != CosignerKey(key.name, private_key.public_key()).raw:
        raise WitnessError(f"{directory / VKEY_FILE} does not hold exactly this witness's public key.")
    return WitnessIdentity(key, private_key)


def _write_atomically(path: Path, data: bytes, mode: int = 0o600) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


# --- trusted logs ---------------------------------------------------------------------


class TrustedLogs:
    """Origin → the ledger's public keys file; re-read when a file changes."""

    def __init__(self, paths: Sequence[str | Path]) -> None:
        if not paths:
            raise WitnessError("Give at least one log's public keys file (--log-key).")
        self.paths = [Path(p) for p in paths]
        self._lock = threading.Lock()
        self._stamps: list[float] = []
        self._logs: dict[str, Keyring] = {}
        self._logs = self._load()

    def _load(self) -> dict[str, Keyring]:
        logs: dict[str, Keyring] = {}
        stamps = []
        for path in self.paths:
            try:
                stamps.append(path.stat().st_mtime_ns)
                keyring = parse_keyring(path.read_bytes())
            except OSError as exc:
                raise WitnessError(f"Cannot read the log keys file {path}: {exc.strerror}.") from None
            except KeyringError as exc:
                raise WitnessError(f"{path}: {exc}") from None
            if not keyring.origin:
                raise WitnessError(f"{path} names no origin; export it with `fairsplit keys public`.")
            if keyring.origin in logs:
                raise WitnessError(f"Two log keys files name the origin {keyring.origin!r}.")
            logs[keyring.origin] = keyring
        self._stamps = stamps
        return logs

    def get(self, origin: str) -> Keyring | None:
        with self._lock:
            try:
                changed = [p.stat().st_mtime_ns for p in self.paths] != self._stamps
            except OSError:
                changed = False
            if changed:
                try:
                    self._logs = self._load()
                except WitnessError as exc:
                    log.error("keeping the previous log keys: %s", exc)
            return self._logs.get(origin)

    @property
    def origins(self) -> list[str]:
        return sorted(self._logs)


def _key_problem(keyring: Keyring):
    """A checkpoint of size N must be signed by the key current after entry N (the keys file's ranges)."""
    history = keyring.history()

    def problem(key: NoteKey, checkpoint: Checkpoint) -> str | None:
        return history.checkpoint_problem(public_key_id(key.public_key), checkpoint.size)

    return problem


def verified_note(note: str, log_keys: Sequence[NoteKey]) -> str:
    """What the witness stores of a note it accepted: the checkpoint text and only the
    signature lines of the log's trusted keys (which `decide` verified). Any other line —
    one claiming the witness's own name, say — was never checked, so it is never kept."""
    text, signatures = parse_note(note)
    trusted = {(key.name, key.key_hash) for key in log_keys}
    lines = [f"{SIGNATURE_PREFIX}{name} {base64.b64encode(blob).decode()}\n"
             for name, blob in signatures if (name, blob[:4]) in trusted]
    return text + "\n" + "".join(lines)


# --- the witness ---------------------------------------------------------------------


class Witness:
    """What the HTTP handler calls: cosign, or read the state of one origin."""

    def __init__(self, directory: str | Path, log_key_files: Sequence[str | Path]) -> None:
        self.directory = Path(directory)
        self.identity = load_identity(self.directory)
        self.logs = TrustedLogs(log_key_files)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _lock(self, origin: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(origin, threading.Lock())

    def _state_path(self, origin: str) -> Path:
        return self.directory / "checkpoints" / origin_hash(origin)

    def held(self, origin: str) -> tuple[Checkpoint, str] | None:
        """The latest checkpoint cosigned for `origin` and its stored note (None: never)."""
        try:
            note = self._state_path(origin).read_text("utf-8")
        except FileNotFoundError:
            return None
        try:
            text, _ = parse_note(note)
            return Checkpoint.parse(text), note
        except CheckpointError as exc:
            raise WitnessError(f"The stored checkpoint of {origin!r} is damaged: {exc}") from None

    def state_note(self, hashed_origin: str) -> str | None:
        path = self.directory / "checkpoints" / hashed_origin
        try:
            return path.read_text("utf-8")
        except FileNotFoundError:
            return None

    def add_checkpoint(self, request: AddCheckpoint, origin: str) -> str:
        """The cosignature line(s) for the request's checkpoint; Refusal otherwise."""
        keyring = self.logs.get(origin)
        keys = None if keyring is None else keyring.note_keys(origin)
        with self._lock(origin):
            held = self.held(origin)
            try:
                checkpoint = decide(request, keys, held and held[0],
                                    _key_problem(keyring) if keyring else lambda key, cp: None)
            except Refusal as refusal:
                if refusal.status == 422 or (refusal.status == 409 and refusal.size == request.old_size):
                    self._keep_evidence(origin, request)
                raise
            line = cosign(checkpoint.text(), self.identity.key.name, self.identity.private_key, int(time.time()))
            _write_atomically(self._state_path(origin), (verified_note(request.note, keys) + line).encode())
        log.info("cosigned %s at tree size %d", origin, checkpoint.size)
        return line

    def _keep_evidence(self, origin: str, request: AddCheckpoint) -> None:
        """A validly signed, inconsistent checkpoint proves the log misbehaved: keep it (bounded)."""
        evidence = self.directory / "evidence"
        try:
            if sum(1 for _ in evidence.iterdir()) >= MAX_EVIDENCE:
                return
            name = f"{origin_hash(origin)}-{time.time_ns()}.note"
            _write_atomically(evidence / name, request.note.encode())
        except OSError as exc:
            log.error("cannot keep evidence: %s", exc.strerror)


# --- HTTP -------------------------------------------------------------------------------


class _Handler(GuardedHandler):
    server: WitnessServer

    def do_POST(self) -> None:  # noqa: N802 - the http.server naming
        body = self.read_body(MAX_REQUEST_BYTES)
        if body is None:
            return
        if self.path != "/add-checkpoint":
            self.reply(404, "Not found: the witness serves POST /add-checkpoint.\n")
            return
        try:
            request = parse_request(body)
            origin = origin_of(request.note)
            line = self.server.witness.add_checkpoint(request, origin)
        except Refusal as refusal:
            log.info("refused (%d): %s", refusal.status, refusal.message)
            if refusal.status == 409:
                self.reply(409, f"{refusal.size}\n", SIZE_CONTENT_TYPE)
            else:
                self.reply(refusal.status, refusal.message + "\n")
            return
        except (WitnessError, OSError) as exc:
            log.error("cannot cosign: %s", exc)
            self.reply(500, "The witness cannot store its state; try again later.\n")
            return
        self.reply(200, line)

    def do_GET(self) -> None:  # noqa: N802
        if not self.request_arrived():
            return
        match = _STATE_PATH.fullmatch(self.path)
        note = self.server.witness.state_note(match.group(1)) if match else None
        if note is None:
            self.reply(404, "This witness has cosigned no checkpoint of that log.\n")
            return
        self.reply(200, note)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the http.server signature
        log.debug("%s %s", self.address_string(), format % args)


class WitnessServer(GuardedServer):
    """The witness over HTTP, with the connection bounds and request deadlines of `Limits`."""

    def __init__(self, address: tuple[str, int], witness: Witness, limits: Limits | None = None) -> None:
        self.witness = witness
        super().__init__(address, _Handler, limits)

    def server_close(self) -> None:
        super().server_close()
        lock = getattr(self, "directory_lock", None)
        if lock is not None:
            lock.close()


def parse_listen(listen: str) -> tuple[str, int]:
    host, colon, port = listen.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise WitnessError(f"--listen {listen!r} must be HOST:PORT, e.g. 127.0.0.1:7380.")
    return host.strip("[]"), int(port)


def lock_directory(directory: Path):
    """Hold the directory's serve lock for the process's life; one server per directory."""
    try:
        handle = open(directory / LOCK_FILE, "a")  # noqa: SIM115 - held until the process exits
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise WitnessError(f"Another witness process is serving {directory}.") from None
    except OSError as exc:
        raise WitnessError(f"Cannot lock {directory}: {exc.strerror}.") from None
    return handle


def make_server(directory: str | Path, log_key_files: Sequence[str | Path], listen: str,
                limits: Limits | None = None) -> WitnessServer:
    """A ready witness server (not yet serving); WitnessError with one sentence otherwise."""
    directory = Path(directory)
    witness = Witness(directory, log_key_files)
    address = parse_listen(listen)
    held = lock_directory(directory)
    try:
        server = WitnessServer(address, witness, limits)
    except OSError as exc:
        held.close()
        raise WitnessError(f"Cannot listen on {listen}: {exc.strerror}.") from None
    server.directory_lock = held
    return server
