"""The ledger and its witnesses, on SQLite and PostgreSQL, with witnesses as real processes.

The rewrites are the ones of issue 14, done with the ledger's own (stolen) key on a ledger
of 24 entries with checkpoints at 12 and 24: they pass `ledger verify` and the artists'
checks without witnesses; with a witness key they must not.
"""

from __future__ import annotations

import json
import threading
import uuid
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.exc import DBAPIError

from ledger.tlog.cosignature import cosign
from ledger.keys.lifecycle import public_keyring
from ledger.payouts.periods import parse_period
from ledger.tlog.proofs import VerificationError, check_witnessed, verify_document
from ledger.transparency.proving import prove_inclusion
from ledger.statements.export import export_statements
from ledger.books.store import TransferSpec
from ledger.transparency.tree import create_checkpoint, verify_checkpoints
from ledger.audit.chain import verify_ledger
from ledger.tlog.witness_protocol import format_request
from ledger.transparency.witnessing import submission, verify_witnessing, witnesses_of
from services.witness_client import (
    WitnessEndpoint,
    WitnessPool,
    fetch_view,
    parse_witness_list,
)
from tests.proofs.support import PAYEES, WHEN
from tests.proofs.witness_support import WitnessProcess, post
from services.closing import close_and_witness
from services.signed_rewards import enrol, reward


@pytest.fixture
def witnessed(env, tmp_path):
    """A ledger with two witnesses (not started) that trust its public keys file."""
    keys_file = tmp_path / "ledger-keys.pem"
    keys_file.write_text(public_keyring(env.engine).render())
    witnesses = [WitnessProcess(tmp_path / f"w{n}", keys_file, f"witness.test/w{n}") for n in (1, 2)]
    yield env, witnesses
    for witness in witnesses:
        witness.kill()


def book_and_checkpoint(env, pool: WitnessPool, count: int, start: int):
    env.book(count, start=start)
    create_checkpoint(env.engine, env.signer)
    return pool.cosign_latest(env.engine)


def statuses(outcomes) -> list[str]:
    return [outcome.status for outcome in outcomes]


def verify(document, env, witnesses=(), quorum=None):
    return verify_document(json.dumps(document), public_keyring(env.engine), witness_keys=[w.key for w in witnesses],
                           quorum=quorum)


def test_each_new_checkpoint_is_cosigned_in_the_background(witnessed):
    env, (w1, _) = witnessed
    w1.start()
    pool = WitnessPool([w1.endpoint], retry_s=60)
    pool.start(env.engine)
    try:
        for start in (0, 12):
            env.book(12, start=start)
            create_checkpoint(env.engine, env.signer)  # what the writer does after a batch …
            pool.notify()  # … and then it goes on booking; the cosigning happens in the thread
            deadline = time.monotonic() + 30
            while not witnesses_of(env.engine, start + 12, [w1.key]) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert [c.key.name for c in witnesses_of(env.engine, start + 12, [w1.key])] == ["witness.test/w1"]
    finally:
        pool.stop()
    verified = verify(prove_inclusion(env.engine, 5), env, [w1])
    assert "cosigned by 1 witness (witness.test/w1)" in " ".join(verified.lines)
    report = verify_witnessing(env.engine, [w1.key], 1, [fetch_view(w1.endpoint, "fairsplit/ledger")])
    assert report.ok and report.checkpoint == 24 and report.views == 1
    for statement in ("UPDATE witness_cosignatures SET cosigned_at = 1", "DELETE FROM witness_cosignatures"):
        with pytest.raises(DBAPIError, match="append-only"):
            env.sql(statement)


def test_two_witnesses_with_a_quorum_of_one_keep_working_when_one_is_down(witnessed):
    env, (w1, w2) = witnessed
    w1.start()  # w2 is down
    pool = WitnessPool([w1.endpoint, w2.endpoint], quorum=1, timeout_s=2, backoff_s=0)
    assert statuses(book_and_checkpoint(env, pool, 12, 0)) == ["cosigned", "down"]
    proof = prove_inclusion(env.engine, 3)
    assert verify(proof, env, [w1, w2], quorum=1).checkpoint.size == 12
    with pytest.raises(VerificationError, match="1 of the 2 required"):
        verify(proof, env, [w1, w2], quorum=2)
    assert verify_witnessing(env.engine, [w1.key, w2.key], 1).ok

    w2.start()  # back: the next round asks it for what it missed
    assert statuses(pool.cosign_latest(env.engine)) == ["up-to-date", "cosigned"]
    assert verify(prove_inclusion(env.engine, 3), env, [w1, w2], quorum=2)

    w1.stop()  # now the other one is down for two checkpoints; booking goes on
    assert statuses(book_and_checkpoint(env, pool, 12, 12)) == ["down", "cosigned"]
    assert statuses(book_and_checkpoint(env, pool, 12, 24)) == ["down", "cosigned"]
    w1.start()  # it still holds 12 (after a restart): proven from there to 36 in one step
    assert statuses(pool.cosign_latest(env.engine)) == ["cosigned", "up-to-date"]
    assert len(witnesses_of(env.engine, 36, [w1.key, w2.key])) == 2
    assert witnesses_of(env.engine, 24, [w1.key, w2.key])[0].key.name == "witness.test/w2"


def test_a_lost_answer_is_recovered_from_the_conflict_size(witnessed):
    env, (w1, _) = witnessed
    w1.start()
    pool = WitnessPool([w1.endpoint])
    book_and_checkpoint(env, pool, 12, 0)
    env.book(12, start=12)
    stored = create_checkpoint(env.engine, env.signer)
    wanted = submission(env.engine, w1.key, 12)
    assert post(w1.url, format_request(12, wanted.proof, stored.note))[0] == 200  # the answer never reached us
    assert statuses(pool.cosign_latest(env.engine)) == ["cosigned"]  # 409 "24", proven again from 24
    assert witnesses_of(env.engine, 24, [w1.key])


def twenty_four_witnessed_entries(env, witness: WitnessProcess):
    pool = WitnessPool([witness.endpoint])
    witness.start()
    assert statuses(book_and_checkpoint(env, pool, 12, 0)) == ["cosigned"]
    assert statuses(book_and_checkpoint(env, pool, 12, 12)) == ["cosigned"]
    return pool


def rewrite(env, keep: int, drop_from_checkpoint: int) -> None:
    """What someone with the database's DDL rights does: cut the log after `keep` entries
    and remove every checkpoint (and its cosignatures) from `drop_from_checkpoint` on."""
    for table in ("transfers", "merkle_nodes", "checkpoints", "witness_cosignatures", "account_balances"):
        env.drop_trigger(f"{table}_no_delete", table)
    env.sql("DELETE FROM account_balances WHERE through_seq > :keep", keep=keep)  # they would name the cut
    env.sql("DELETE FROM witness_cosignatures WHERE tree_size >= :size", size=drop_from_checkpoint)
    env.sql("DELETE FROM checkpoints WHERE tree_size >= :size", size=drop_from_checkpoint)
    env.sql("DELETE FROM merkle_nodes")  # rebuilt from the transfers by the next checkpoint
    env.sql("DELETE FROM transfers WHERE seq > :keep", keep=keep)


def reappend(env, count: int, start: int) -> None:
    """Different entries, signed with the ledger's key (the stolen one)."""
    env.ledger.append([
        TransferSpec(f"forged-{n}", PAYEES[n % 3], "payouts:USD", 999_000 + n, "USD", "payout", WHEN)
        for n in range(start, start + count)
    ])


def test_a_history_rebuilt_after_row_10_gets_no_cosignature(witnessed):
    env, (w1, _) = witnessed
    pool = twenty_four_witnessed_entries(env, w1)
    rewrite(env, keep=10, drop_from_checkpoint=0)
    reappend(env, 14, 10)  # 24 entries again, with another root
    create_checkpoint(env.engine, env.signer)
    assert verify_ledger(env.engine).ok and verify_checkpoints(env.engine).ok  # what passed before witnesses
    forged = prove_inclusion(env.engine, 20)
    verify(forged, env)  # … and an artist without a witness key accepts the forged entry

    [outcome] = pool.cosign_latest(env.engine)
    assert outcome.status == "refused" and "HTTP 409" in outcome.detail and "not consistent" in outcome.detail
    assert not witnesses_of(env.engine, 24, [w1.key])
    with pytest.raises(VerificationError, match="not witnessed: The checkpoint carries 0 of the 1 required"):
        verify(forged, env, [w1])
    report = verify_witnessing(env.engine, [w1.key], 1)
    assert not report.ok and "0 of the 1 required" in report.problem
    view = fetch_view(w1.endpoint, "fairsplit/ledger")
    report = verify_witnessing(env.engine, [w1.key], 1, [view])
    assert not report.ok


@pytest.mark.parametrize("appended, refusal", [(0, "conflict"), (8, "conflict"), (16, "refused")])
def test_a_history_cut_after_row_12_gets_no_cosignature(witnessed, appended, refusal):
    env, (w1, _) = witnessed
    pool = twenty_four_witnessed_entries(env, w1)
    kept = prove_inclusion(env.engine, 2)  # an artist kept a proof under checkpoint 24
    rewrite(env, keep=12, drop_from_checkpoint=24)
    reappend(env, appended, 12)
    create_checkpoint(env.engine, env.signer)  # consistent with checkpoint 12, which is still there
    assert verify_ledger(env.engine).ok and verify_checkpoints(env.engine).ok
    newest = prove_inclusion(env.engine, 12 + appended, since=12)
    verify(newest, env)  # valid without witnesses, even for an artist who kept checkpoint 12

    [outcome] = pool.cosign_latest(env.engine)
    assert outcome.status == refusal  # 0, 8: the witness holds 24 > 12, 20; 16: 24 → 28 does not verify (422)
    view = fetch_view(w1.endpoint, "fairsplit/ledger")
    report = verify_witnessing(env.engine, [w1.key], 1, [view])
    assert not report.ok
    assert ("entries were removed" if appended < 12 else "history was rewritten") in report.problem
    if appended:  # the new entries end at a checkpoint no witness cosigned
        with pytest.raises(VerificationError, match="not witnessed"):
            verify(newest, env, [w1])
        report = verify_witnessing(env.engine, [w1.key], 1)
        assert not report.ok and f"newest checkpoint ({12 + appended} entries)" in report.problem
    assert verify(kept, env, [w1]).checkpoint.size == 24  # the artist's old proof still stands, witnessed


def test_the_witness_list_configuration(witnessed):
    _, (w1, w2) = witnessed
    endpoints = parse_witness_list(f"{w1.url} {w1.key.vkey()}, {w2.url}/ {w2.key.vkey()}")
    assert [(e.url, e.key) for e in endpoints] == [(w1.url, w1.key), (w2.url, w2.key)]
    for text, reason in [(f"{w1.url}", "must be '<url> <vkey>'"), (f"ftp://x {w1.key.vkey()}", "not an http"),
                         (f"{w1.url} nonsense", "must read"), (f"{w1.url} {w1.key.vkey()},{w2.url} {w1.key.vkey()}",
                                                               "listed twice")]:
        with pytest.raises(ValueError, match=reason):
            parse_witness_list(text)
    with pytest.raises(ValueError, match="between 1 and 2"):
        WitnessPool(endpoints, quorum=3)


def test_a_payout_close_is_cosigned_and_its_statements_carry_the_cosigned_checkpoint(witnessed, tmp_path):
    env, (w1, _) = witnessed
    w1.start()
    pool = WitnessPool([w1.endpoint])
    signers = enrol(env.ledger)  # a close pays rewards, so they are real ones, with their evidence
    for n in range(9):
        reward(env.ledger, signers, str(uuid.uuid5(uuid.NAMESPACE_URL, f"close-{n}")), {PAYEES[n % 3]: 1.0},
               1_000_000 + 10_000 * n, when=WHEN)  # whole cents: an event reward (ISO 4217)
    closing = close_and_witness(env.ledger, parse_period("2026-11"), "USD", 0, pool, now=datetime(2027, 1, 5, tzinfo=UTC))
    stored = closing.checkpoint  # `payouts close`: the close, a checkpoint of it …
    assert statuses(closing.witnesses) == ["cosigned"]  # … and the witnesses asked
    assert [plan.period.id for plan in closing.result.closed] == ["2026-11"] and stored.size == env.ledger.head()[0]
    export_statements(env.engine, env.signer, parse_period("2026-11"), "USD", ["json"], tmp_path / "out")
    subject = json.loads((tmp_path / "out" / "manifest.json").read_text())["subject"]
    assert subject["checkpoint"].startswith(stored.note)
    assert "witness.test/w1" in check_witnessed(subject["checkpoint"], [w1.key], 1)


def test_a_lying_witness_gets_nothing_kept(witnessed):
    """A server at a witness's address that answers 200 with someone else's cosignature."""
    env, (w1, _) = witnessed
    env.book(3)
    stored = create_checkpoint(env.engine, env.signer)
    impostor = Ed25519PrivateKey.generate()

    class Liar(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            line = cosign(stored.checkpoint.text(), w1.key.name, impostor, 1_764_000_000).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(line)))
            self.end_headers()
            self.wfile.write(line)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Liar)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        pool = WitnessPool([WitnessEndpoint(f"http://127.0.0.1:{server.server_address[1]}", w1.key)])
        [outcome] = pool.cosign_latest(env.engine)
    finally:
        server.shutdown()
        server.server_close()
    assert outcome.status == "refused" and "bad cosignature" in outcome.detail
    assert not witnesses_of(env.engine, 3, [w1.key])
