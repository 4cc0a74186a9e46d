"""`fairsplit witness serve` as a real process on loopback: the tlog-witness protocol over HTTP."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.cosignature import require_quorum
from ledger.key_lifecycle import public_keyring
from ledger.merkle import MemoryTree, consistency_proof
from ledger.transparency import create_checkpoint, get_checkpoint, node_fetcher
from ledger.witness_protocol import format_request, origin_hash
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
