"""Issue 19 item 2: whoever can write to the database cannot mint money that verifies.

Every reward is bound to the platform-signed event and the worker-signed result it was
paid for; `ledger verify` and offline bundles check both signatures against the keys the
log's own key history trusts at that seq. The attacks run end to end, on both backends.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, text
from typer.testing import CliRunner

from cli import app
from ledger.crypto import generate_private_key, key_id, public_key_pem
from ledger.books.events import book_events
from ledger.evidence.rewards import EvidenceError, digest_of, memo_for, spell
from ledger.keys.entries import anchor_specs
from ledger.keys.lifecycle import public_keyring
from ledger.keys.signing import Signer, register_key
from ledger.tlog.proofs import VerificationError, verify_document
from ledger.transparency.proving import balance_bundle
from ledger.parties.registry import revoke_platform_keys
from ledger.books.schema import PLATFORM_KEYS, REWARD_EVIDENCE, SERVICE_KEYS
from ledger.errors import SigningKeyError
from ledger.books.store import Ledger, TransferSpec, _insert, _seal
from ledger.transparency.tree import create_checkpoint
from ledger.audit.chain import verify_ledger
from services.contracts import parse_result
from services.ledger_writer import AcceptedResult, booking
from tests.ledger.support import WHEN
from services.signed_rewards import Signers, book_signed, enrol, reward, signed_result

SHARES = {"artist:van-gogh": 0.5, "artist:monet": 0.25, "model:sd-1.5": 0.25}


def event_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"evidence-test:{name}"))


@pytest.fixture
def honest(env) -> Signers:
    """A ledger with two honestly paid events: 3 key entries (evidence start, platform, worker), 6 rewards."""
    signers = enrol(env.ledger)
    for name in ("a", "b"):
        assert reward(env.ledger, signers, event_id(name), SHARES, 4_000_000, when=WHEN) == "recorded"
    report = verify_ledger(env.engine)
    assert report.ok and report.checked == 9 and report.legacy_rewards == 0
    return signers


def cli(env, *args: str):
    return CliRunner().invoke(app, ["--database-url", env.url, "--key-dir", env.key_dir, *args])


def test_a_key_inserted_into_signing_keys_mints_nothing_that_verifies(env, honest, tmp_path):
    """The exact attack of item 2: INSERT a signing key, append 900,000 USD signed by it."""
    mallory = Signer.from_private_key(generate_private_key())
    register_key(env.engine, mallory)  # a plain INSERT into signing_keys
    spec = TransferSpec(event_id("mint"), "platform:acme", "artist:van-gogh", 900_000_000_000, "USD", "reward", WHEN)
    with pytest.raises(SigningKeyError):  # Ledger.append seals only with the log's current key …
        Ledger(env.engine, mallory).append([spec])
    with env.engine.begin() as connection:  # … so the attacker seals the row by hand
        head = connection.execute(text("SELECT seq, hash FROM transfers ORDER BY seq DESC LIMIT 1")).one()
        forged = _insert(connection, _seal([(spec.id, spec)], head.seq, head.hash, mallory))[0]["seq"]
    report = verify_ledger(env.engine)
    assert not report.ok and report.bad_seq == forged and "not in the log's key history" in report.problem

    closed = cli(env, "payouts", "close", "2026-11", "--json")  # pays it, as any close pays balances …
    assert closed.exit_code == 0, closed.output
    verified = cli(env, "ledger", "verify")  # … and verify still names the minted row
    assert verified.exit_code == 1 and f"seq {forged}: key not valid" in verified.output, verified.output
    refused = cli(env, "balance", "van-gogh", "--proof", str(tmp_path / "bundle.json"))
    assert refused.exit_code == 2 and "not in the log's key history" in refused.output, refused.output

    # the attacker builds the bundle itself: the keys file is the log's history, so it is refused offline
    bundle = balance_bundle(env.engine, "artist:van-gogh", mallory)
    with pytest.raises(VerificationError, match="not in the public keys file"):
        verify_document(json.dumps(bundle), public_keyring(env.engine))


def test_the_real_ledger_key_cannot_book_a_reward_without_or_beside_its_evidence(env, honest):
    """An attacker holding the database and the ledger's own key."""
    real = env.ledger
    bare = real.append([TransferSpec(event_id("bare"), "platform:acme", "artist:monet", 5_000_000, "USD", "reward",
                                     WHEN)])[0]
    assert verify_ledger(env.engine).bad_seq == bare.seq


def test_a_reward_that_names_real_evidence_but_pays_more_is_caught(env, honest):
    result = signed_result(honest, event_id("c"), SHARES, 4_000_000, when=WHEN)
    record, specs, evidence = booking(AcceptedResult(parse_result(result), result, honest.platform_key_id))
    inflated = [replace(spec, amount=spec.amount * 1000) for spec in specs]
    book_events(env.ledger, [(record, inflated)], [evidence])
    report = verify_ledger(env.engine)
    assert not report.ok and report.bad_seq == 10 and "other than the split" in report.problem


def test_forged_evidence_signed_by_a_worker_key_inserted_into_the_table_is_caught(env, honest):
    """A fabricated result signed by a key the attacker INSERTed into service_keys: the log never enrolled it."""
    mallory = Signers("acme", honest.platform, generate_private_key())
    with env.engine.begin() as connection:
        connection.execute(insert(SERVICE_KEYS).values(
            key_id=key_id(mallory.worker.public_key()), role="attribution-worker",
            public_key_pem=public_key_pem(mallory.worker.public_key()).decode(), created_at=datetime.now(UTC)))
    result = signed_result(mallory, event_id("d"), {"artist:van-gogh": 1.0}, 900_000_000_000 // 1000, when=WHEN)
    with pytest.raises(EvidenceError, match="worker key .* does not show enrolled"):  # the writer refuses it …
        book_signed(env.ledger, mallory, result)
    document = spell(result)  # … so the attacker writes rows and evidence straight into the database
    with env.engine.begin() as connection:
        connection.execute(insert(REWARD_EVIDENCE).values(digest=digest_of(document), event_id=result["event_id"],
                                                          document=document, recorded_at=datetime.now(UTC)))
    _, specs, _ = booking(AcceptedResult(parse_result(result), result, honest.platform_key_id))
    env.ledger.append(specs)
    report = verify_ledger(env.engine)
    assert not report.ok and report.bad_seq == 10 and "does not show enrolled" in report.problem


def test_a_platform_key_inserted_into_platform_keys_pays_nothing(env, honest):
    mallory = Signers("acme", generate_private_key(), honest.worker)
    with env.engine.begin() as connection:  # not through the registry: no log entry
        connection.execute(insert(PLATFORM_KEYS).values(
            key_id=mallory.platform_key_id, platform_id="acme",
            public_key_pem=public_key_pem(mallory.platform.public_key()).decode(), created_at=datetime.now(UTC)))
    result = signed_result(mallory, event_id("e"), SHARES, 1_000_000_000, when=WHEN)
    with pytest.raises(EvidenceError, match="key history does not show active for platform acme"):
        book_signed(env.ledger, mallory, result)  # the writer's final check reads the log, not the table
    record, specs, evidence = booking(AcceptedResult(parse_result(result), result, mallory.platform_key_id))
    with env.engine.begin() as connection:
        connection.execute(insert(REWARD_EVIDENCE).values(digest=evidence.digest, event_id=evidence.event_id,
                                                          document=evidence.document, recorded_at=datetime.now(UTC)))
    first = env.ledger.append(specs)[0]
    report = verify_ledger(env.engine)
    assert not report.ok and report.bad_seq == first.seq and "not signed by a key the log shows active" in report.problem


def test_an_event_signed_before_its_platform_key_was_revoked_is_not_booked_after(env, honest):
    result = signed_result(honest, event_id("late"), SHARES, 4_000_000, when=WHEN)  # accepted a moment ago …
    revoke_platform_keys(env.ledger, "acme", "leaked")
    with pytest.raises(EvidenceError, match="does not show active"):  # … refused under the chain lock
        book_signed(env.ledger, honest, result)
    assert verify_ledger(env.engine).ok


def test_evidence_edited_in_the_database_is_caught(env, honest):
    env.drop_trigger("reward_evidence_no_update", "reward_evidence")
    env.sql("UPDATE reward_evidence SET document = document || ' '")
    report = verify_ledger(env.engine)
    assert not report.ok and report.bad_seq == 4 and "does not hash to its digest" in report.problem


def test_a_ledger_from_before_evidence_is_upgraded_and_later_unbound_rewards_are_caught(env):
    """Rewards booked before the upgrade are legacy (counted); the upgrade anchors the table keys once."""
    env.ledger.append([TransferSpec(event_id(f"old-{n}"), "platform:acme", "artist:monet", 1000 + n, "USD", "reward",
                                    WHEN) for n in range(3)])
    assert verify_ledger(env.engine).bad_seq == 1  # not upgraded yet: an unbound reward anywhere is refused
    platform, worker = generate_private_key(), generate_private_key()
    with env.engine.begin() as connection:  # what the registry tables held before the upgrade
        connection.execute(insert(PLATFORM_KEYS.metadata.tables["platforms"]).values(
            platform_id="acme", public_key_pem=public_key_pem(platform.public_key()).decode(), fingerprint="0" * 64,
            created_at=datetime.now(UTC)))
        for table, values in ((PLATFORM_KEYS, {"platform_id": "acme"}), (SERVICE_KEYS, {"role": "attribution-worker"})):
            key = platform if table is PLATFORM_KEYS else worker
            connection.execute(insert(table).values(key_id=key_id(key.public_key()), created_at=datetime.now(UTC),
                                                    public_key_pem=public_key_pem(key.public_key()).decode(), **values))
    anchored = env.ledger.append_decided(anchor_specs)  # what a ledger writer does when it starts
    assert [row.event_id.split(":")[0] for row in anchored] == ["evidence-start", "platform-key", "service-key"]
    assert env.ledger.append_decided(anchor_specs) == []  # once only
    signers = Signers("acme", platform, worker)
    reward(env.ledger, signers, event_id("new"), SHARES, 4_000_000, when=WHEN)
    report = verify_ledger(env.engine)
    assert report.ok and report.legacy_rewards == 3 and report.checked == 9
    assert "3 legacy rewards predate evidence" in " ".join(cli(env, "ledger", "verify").output.split())
    late = env.ledger.append([TransferSpec(event_id("late"), "platform:acme", "artist:monet", 7, "USD", "reward",
                                           WHEN)])[0]
    report = verify_ledger(env.engine)
    assert not report.ok and report.bad_seq == late.seq and "reward without evidence" in report.problem


def test_a_bundle_carries_what_an_artist_needs_to_check_offline(env, honest):
    create_checkpoint(env.engine, env.signer)
    bundle = balance_bundle(env.engine, "artist:van-gogh")
    keyring = public_keyring(env.engine)
    verified = verify_document(json.dumps(bundle), keyring)
    assert verified.balances == {"USD": 4_000_000} and "2 rewards are bound" in "; ".join(verified.lines)
    assert [e["entry"]["event_id"].split(":")[0] for e in bundle["key_entries"]] == [
        "evidence-start", "platform-key", "service-key"]

    def refused(change, match: str) -> None:
        forged = json.loads(json.dumps(bundle))
        change(forged)
        with pytest.raises(VerificationError, match=match):
            verify_document(json.dumps(forged), keyring)

    refused(lambda b: b["evidence"][0].update(document=b["evidence"][0]["document"] + " "), "does not hash")
    refused(lambda b: b["key_entries"].pop(1), "not signed by a key the log shows active for platform acme")
    refused(lambda b: b["key_entries"].pop(2), "does not show enrolled")
    refused(lambda b: b["evidence"].pop(), "does not carry")
    refused(lambda b: b["evidence"].append(b["evidence"][0]), "appears twice")
    other = signed_result(honest, event_id("other"), SHARES, 4_000_000, when=WHEN)
    document = spell(other)
    refused(lambda b: b["evidence"].append({"digest": digest_of(document), "document": document}), "no entry")


def test_a_memo_spelling_is_exact():
    assert memo_for("ab" * 32) == "evidence:sha256:" + "ab" * 32


def test_reversals_take_back_at_most_a_reward_and_adjustments_are_not_trusted(env, honest):
    from ledger.books.reversals import reverse_event

    reverse_event(env.ledger, event_id("a"), "withdrawn by the platform")
    assert verify_ledger(env.engine).ok  # an honest clawback verifies
    van_gogh = next(t for t in env.ledger.history("artist:van-gogh") if t.kind == "reward" and t.event_id == event_id("b"))
    more = env.ledger.append([TransferSpec(event_id("b"), "platform:acme", "artist:van-gogh", 1, "USD", "adjustment",
                                           WHEN)])[0]
    report = verify_ledger(env.engine)
    assert not report.ok and report.bad_seq == more.seq and "adjustment without evidence" in report.problem
    assert van_gogh.amount == 2_000_000


def test_a_reward_taken_back_twice_is_caught(env, honest):
    paid = next(t for t in env.ledger.history("artist:monet") if t.kind == "reward")
    back = [env.ledger.append([TransferSpec(f"claw-{n}", "artist:monet", "platform:acme", paid.amount, "USD", "reversal",
                                            WHEN, reverses_id=paid.id)])[0] for n in range(2)]
    report = verify_ledger(env.engine)
    assert not report.ok and report.bad_seq == back[1].seq and "take back more than" in report.problem
