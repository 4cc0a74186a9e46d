"""`fairsplit witness serve` as a real process on loopback: the tlog-witness protocol over HTTP."""

from __future__ import annotations

import base64
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.tlog.checkpoint import Checkpoint, sign_checkpoint
from ledger.tlog.cosignature import require_quorum
from ledger.keys.lifecycle import public_keyring
from ledger.tlog.merkle import MemoryTree, consistency_proof
from ledger.transparency.tree import create_checkpoint, get_checkpoint, node_fetcher
from ledger.tlog.witness_protocol import format_request, origin_hash
from ledger.transparency.witnessing import record_cosignature
from services.witness_client import fetch_view
from tests.proofs.support import make_env
from tests.proofs.witness_support import WitnessProcess, cli, exchange, post


@pytest.fixture
def ledger(sqlite_url, tmp_path):
    env = make_env(sqlite_url, tmp_path / "keys")
    env.book(12)
    create_checkpoint(env.engine, env.signer)
    env.book(12, start=12)
    create_checkpoint(env.engine, env.signer)
    (tmp_path / "ledger-keys.pem").write_text(public_keyring(env.engine).render())
    yield env
    env.engine.dispose()


@pytest.fixture
def witness(ledger, tmp_path):
    process = WitnessProcess(tmp_path / "witness", tmp_path / "ledger-keys.pem", "witness.test/w1").start()
    yield process
    process.kill()


def body(env, old: int, new: int) -> bytes:
    with env.engine.connect() as connection:
        proof = consistency_proof(old, new, node_fetcher(connection))
    return format_request(old, proof, get_checkpoint(env.engine, new).note)


def test_the_witness_answers_with_the_protocols_status_codes(ledger, witness, tmp_path):
    status, _, line = post(witness.url, body(ledger, 0, 12))
    assert status == 200 and line.startswith("\u2014 witness.test/w1 ") and line.endswith("\n")
    assert require_quorum(get_checkpoint(ledger.engine, 12).note + line, [witness.key], 1)[0].timestamp > 0

    status, content_type, text = post(witness.url, body(ledger, 0, 24))
    assert (status, content_type, text) == (409, "text/x.tlog.size", "12\n")
    assert post(witness.url, body(ledger, 12, 24))[0] == 200
    assert post(witness.url, body(ledger, 24, 24))[0] == 200  # the same tree again

    checkpoint = get_checkpoint(ledger.engine, 24).checkpoint
    stranger = format_request(24, [], sign_checkpoint(checkpoint, Ed25519PrivateKey.generate()))
    assert post(witness.url, stranger)[0] == 403
    elsewhere = Checkpoint("other/log", 24, checkpoint.root_hash, checkpoint.issued_at)
    unknown = format_request(0, [], sign_checkpoint(elsewhere, ledger.signer.private_key))
    status, _, text = post(witness.url, unknown)
    assert status == 404 and "does not know the log 'other/log'" in text
    assert post(witness.url, format_request(30, [], get_checkpoint(ledger.engine, 24).note))[0] == 400
    assert post(witness.url, b"old 012\n\nx")[0] == 400

    other = MemoryTree(b"x%d" % i for i in range(30))  # a rewritten history of 30 entries, signed with the key
    forged = Checkpoint(checkpoint.origin, 30, other.root(), checkpoint.issued_at)
    status, _, text = post(witness.url, format_request(24, other.consistency_proof(24), sign_checkpoint(
        forged, ledger.signer.private_key)))
    assert status == 422 and "not consistent" in text
    assert len(list((witness.directory / "evidence").iterdir())) == 1  # kept: proof the log misbehaved

    status, _, note = exchange("GET", witness.url, f"/{origin_hash(checkpoint.origin)}/checkpoint")
    assert status == 200 and note.startswith(get_checkpoint(ledger.engine, 24).note)
    assert require_quorum(note, [witness.key], 1)
    assert exchange("GET", witness.url, f"/{origin_hash('other/log')}/checkpoint")[0] == 404
    assert post(witness.url, b"old 0\n\nx", path="/elsewhere")[0] == 404
    assert post(witness.url, b"x" * (300 << 10))[0] == 413


def test_a_restarted_witness_keeps_what_it_cosigned(ledger, witness):
    assert post(witness.url, body(ledger, 0, 24))[0] == 200
    output = witness.stop()
    assert "shutting down" in output and "Traceback" not in output
    witness.start()
    assert post(witness.url, body(ledger, 0, 12))[:3] == (409, "text/x.tlog.size", "24\n")
    assert post(witness.url, body(ledger, 12, 24))[2] == "24\n"


def test_concurrent_submissions_never_roll_the_witness_back(ledger, witness):
    assert post(witness.url, body(ledger, 0, 12))[0] == 200
    requests = [body(ledger, 12, 24)] * 12 + [body(ledger, 12, 12)] * 12
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda data: post(witness.url, data), requests))
    statuses = [status for status, _, _ in answers]
    assert statuses.count(200) >= 1 and set(statuses) <= {200, 409}
    assert post(witness.url, body(ledger, 0, 24))[2] == "24\n"  # it holds the larger tree
    cosigned_24 = [text for (status, _, text), data in zip(answers, requests) if status == 200 and data == requests[0]]
    assert len(cosigned_24) == 1  # once it held 24, every other request from 12 was a conflict


def test_a_witness_key_others_can_read_is_refused(ledger, tmp_path):
    process = WitnessProcess(tmp_path / "open", tmp_path / "ledger-keys.pem", "witness.test/open")
    os.chmod(tmp_path / "open" / "witness.key", 0o644)
    result = cli("witness", "serve", "--dir", str(tmp_path / "open"), "--log-key", str(tmp_path / "ledger-keys.pem"),
                 "--listen", f"127.0.0.1:{process.port}")
    assert result.returncode == 2 and "must be 600" in result.stderr and "Traceback" not in result.stderr


def test_one_directory_is_served_by_one_process(ledger, witness, tmp_path):
    result = cli("witness", "serve", "--dir", str(witness.directory), "--log-key", str(tmp_path / "ledger-keys.pem"),
                 "--listen", "127.0.0.1:0")
    assert result.returncode == 2 and "Another witness process" in result.stderr
    again = cli("witness", "init", "--dir", str(witness.directory))
    assert again.returncode == 2 and "already holds a witness key" in again.stderr


# --- issue 19 items 6-8: what a hostile client cannot do to a witness ----------------------


def test_another_root_for_the_size_it_holds_is_a_409_conflict(ledger, witness):
    assert post(witness.url, body(ledger, 0, 24))[0] == 200
    checkpoint = get_checkpoint(ledger.engine, 24).checkpoint
    fork = Checkpoint(checkpoint.origin, 24, MemoryTree(b"y%d" % i for i in range(24)).root(), checkpoint.issued_at)
    answer = post(witness.url, format_request(24, [], sign_checkpoint(fork, ledger.signer.private_key)))
    assert answer == (409, "text/x.tlog.size", "24\n")  # C2SP tlog-witness: same size, different root
    assert len(list((witness.directory / "evidence").iterdir())) == 1  # a signed fork is kept as evidence


def test_the_witness_stores_only_what_it_verified_or_made(ledger, witness, tmp_path):
    status, _, line = post(witness.url, body(ledger, 0, 24))
    assert status == 200
    record_cosignature(ledger.engine, get_checkpoint(ledger.engine, 24), witness.key, line)
    key_hash = witness.key.key_id
    forged_line = f"\u2014 {witness.key.name} {base64.b64encode(key_hash + bytes(72)).decode()}\n"
    again = format_request(24, [], get_checkpoint(ledger.engine, 24).note + forged_line)
    assert post(witness.url, again)[0] == 200  # the same tree again: cosigned …
    view = fetch_view(witness.endpoint, get_checkpoint(ledger.engine, 24).checkpoint.origin)
    assert forged_line not in view and view.startswith(get_checkpoint(ledger.engine, 24).note)  # … not stored as sent
    (tmp_path / "view.note").write_text(view)
    (tmp_path / "w1.vkey").write_text(witness.key.vkey() + "\n")
    verified = cli("--database-url", ledger.url, "ledger", "verify", "--witness-key", str(tmp_path / "w1.vkey"),
                   "--witness-checkpoint", str(tmp_path / "view.note"))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def _raw(port: int, request: bytes) -> bytes:
    """Send `request` on a fresh connection; everything the witness answers before closing."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("lengths", [
    [b"10", b"12"],  # ambiguous: which one frames the body?
    ["²".encode()],  # a digit, but not an ASCII one
    [b"9" * 5000],  # more digits than any length
    [b"-5"], [b"+5"], [b"0x10"], [b"1 0"], [b""],
])
def test_an_ambiguous_or_malformed_content_length_is_a_400(ledger, witness, lengths):
    headers = b"".join(b"Content-Length: " + value + b"\r\n" for value in lengths)
    answer = _raw(witness.port, b"POST /add-checkpoint HTTP/1.1\r\nHost: w\r\n" + headers + b"\r\nold 0\n\nxxxxxxx")
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 400 Bad Request" and b"Content-Length" in rest.split(b"\r\n\r\n")[1]
    assert post(witness.url, body(ledger, 0, 12))[0] == 200  # and it goes on serving
    assert "Traceback" not in witness.stop()


@pytest.mark.slow  # waits out the witness's 10 s whole-request deadline
def test_slow_clients_cannot_keep_a_legitimate_request_from_being_answered(ledger, witness):
    """Slowloris: 66 connections (from 127.0.0.2) each sending one header byte every second."""
    slow = []
    for _ in range(66):
        connection = socket.socket()
        connection.bind(("127.0.0.2", 0))
        try:
            connection.connect(("127.0.0.1", witness.port))
            connection.sendall(b"POST /add-checkpoint HTTP/1.1\r\n")
        except OSError:  # refused at once: the per-client bound
            connection.close()
            continue
        slow.append(connection)
    stop = threading.Event()
    alive = {id(connection): True for connection in slow}

    def trickle() -> None:
        while not stop.wait(1.0):
            for connection in slow:
                try:
                    connection.sendall(b"X")
                except OSError:
                    alive[id(connection)] = False

    threading.Thread(target=trickle, daemon=True).start()
    try:
        started = time.monotonic()
        assert post(witness.url, body(ledger, 0, 24))[0] == 200
        assert time.monotonic() - started < 5.0  # answered at once, not after the slow ones give up
        bounded = time.monotonic() + 8
        while sum(alive.values()) > 16 and time.monotonic() < bounded:
            time.sleep(0.2)
        assert sum(alive.values()) <= 16  # one client address holds at most 16 connections
        deadline = time.monotonic() + 30  # the whole-request deadline (10 s) ends every slow one
        while any(alive.values()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(alive.values()) and time.monotonic() - started < 20
    finally:
        stop.set()
        for connection in slow:
            connection.close()
