"""Verification from a kept checkpoint: its signature, the log's consistency with it, then
only the entries after it (counted), on both backends and through the CLI."""

from __future__ import annotations

import json
import weakref
from datetime import UTC, datetime
from fractions import Fraction

from typer.testing import CliRunner

from cli import app
from ledger.crypto import generate_private_key
from ledger.tlog.checkpoint import Checkpoint, sign_checkpoint
from ledger.transparency.tree import create_checkpoint
from ledger.audit.since import verify_since
from services.signed_rewards import enrol, reward
from tests.payouts.support import eid

SHARES = {"artist:van-gogh": Fraction(1, 2), "model:sd-1.5": Fraction(1, 2)}


def book(ledger, first: int, n: int) -> None:
    """n events from number `first`, booked as the writer books them (evidence-bound rewards);
    the first call registers the platform and the worker (3 key entries: the evidence start, their keys)."""
    signers = _SIGNERS.get(ledger) or _SIGNERS.setdefault(ledger, enrol(ledger))
    for i in range(first, first + n):
        reward(ledger, signers, eid(f"e{i}"), SHARES, 2_000_000 + 10_000 * i, when=datetime(2026, 11, 1 + i % 28, tzinfo=UTC))


# the signers enrolled in each test's ledger, forgotten with it (an id() key was reused by a
# later test's ledger, which was then never enrolled: seen failing on 2026-12-07)
_SIGNERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def test_verify_since_checks_only_the_entries_after_the_kept_checkpoint(env):
    book(env.ledger, 0, 10)
    kept = create_checkpoint(env.engine, env.signer)
    book(env.ledger, 10, 4)
    create_checkpoint(env.engine, env.signer)
    book(env.ledger, 14, 1)
    report = verify_since(env.engine, kept.note)
    assert report.ok, report.problem
    assert (report.kept_size, report.checked, report.head_seq) == (23, 10, 33)  # 3 key entries first (`book`)
    assert report.checkpoints == 1 and report.audit.ok and report.audit.balances == 5 * 3


def test_a_tampered_entry_after_the_kept_checkpoint_is_named(env):
    book(env.ledger, 0, 3)
    kept = create_checkpoint(env.engine, env.signer)
    book(env.ledger, 3, 2)
    env.drop_trigger("transfers_no_update", "transfers")
    env.sql("UPDATE transfers SET amount = amount + 1 WHERE seq = 11")
    report = verify_since(env.engine, kept.note)
    assert not report.ok and report.problem.startswith("entry seq 11: hash mismatch")


def test_a_kept_checkpoint_of_another_log_or_a_rewritten_history_is_refused(env):
    book(env.ledger, 0, 3)
    kept = create_checkpoint(env.engine, env.signer)
    stranger = sign_checkpoint(Checkpoint(kept.checkpoint.origin, 9, b"\x01" * 32, kept.checkpoint.issued_at),
                               generate_private_key())
    assert "not a checkpoint signed by a key of this ledger" in verify_since(env.engine, stranger).problem
    forged = sign_checkpoint(Checkpoint(kept.checkpoint.origin, 4, b"\x01" * 32, kept.checkpoint.issued_at),
                             env.signer.private_key)
    assert "history was rewritten" in verify_since(env.engine, forged).problem
    bigger = sign_checkpoint(Checkpoint(kept.checkpoint.origin, 99, b"\x01" * 32, kept.checkpoint.issued_at),
                             env.signer.private_key)
    assert "entries were removed" in verify_since(env.engine, bigger).problem


def test_cli_checkpoint_out_then_verify_since(database_url, tmp_path):
    runner = CliRunner()
    base = ["--database-url", database_url, "--key-dir", str(tmp_path / "keys")]
    assert runner.invoke(app, [*base, "init"]).exit_code == 0
    assert runner.invoke(app, [*base, "ledger", "demo", "--events", "2"]).exit_code == 0
    kept = tmp_path / "kept.checkpoint"
    assert runner.invoke(app, [*base, "ledger", "checkpoint", "--out", str(kept)]).exit_code == 0
    assert runner.invoke(app, [*base, "ledger", "demo", "--events", "5"]).exit_code == 0
    shown = runner.invoke(app, [*base, "ledger", "verify", "--since", str(kept)])
    assert shown.exit_code == 0, shown.output
    assert "Ledger intact since the kept checkpoint (size 10): 9 entries after it verified" in shown.output  # the genesis and the demo's key entries
    assert "Balances intact" in shown.output
    as_json = json.loads(runner.invoke(app, [*base, "ledger", "verify", "--since", str(kept), "--json"]).output)
    assert as_json["ok"] and as_json["checked"] == 9 and as_json["kept_size"] == 10
    full = runner.invoke(app, [*base, "ledger", "verify"])
    assert full.exit_code == 0 and "19 transfers verified" in full.output and "Balances intact" in full.output
    assert runner.invoke(app, [*base, "keys", "public", "--out", str(tmp_path / "keys.pem")]).exit_code == 0
    pinned = runner.invoke(app, [*base, "ledger", "verify", "--since", str(kept), "--public-key", str(tmp_path / "keys.pem")])
    assert pinned.exit_code == 0 and "9 entries after it verified" in pinned.output
    foreign = tmp_path / "foreign"
    assert runner.invoke(app, ["--database-url", f"sqlite:///{tmp_path / 'other.db'}", "--key-dir", str(foreign),
                               "init"]).exit_code == 0
    assert runner.invoke(app, ["--database-url", f"sqlite:///{tmp_path / 'other.db'}", "--key-dir", str(foreign),
                               "keys", "public", "--out", str(tmp_path / "other.pem")]).exit_code == 0
    wrong = runner.invoke(app, [*base, "ledger", "verify", "--since", str(kept), "--public-key", str(tmp_path / "other.pem")])
    assert wrong.exit_code == 1  # another ledger's first key pinned: the kept checkpoint's key is not in that history
    (tmp_path / "junk").write_text("not a checkpoint\n")
    refused = runner.invoke(app, [*base, "ledger", "verify", "--since", str(tmp_path / "junk")])
    assert refused.exit_code == 1 and "not a checkpoint signed by a key of this ledger" in refused.output


def test_after_a_kept_checkpoint_a_row_sealed_by_a_key_only_in_signing_keys_is_caught(env):
    """The key ranges hold from a kept checkpoint too: the entries after it are checked against
    the log's key history, never against `signing_keys`, nor are checkpoints it signs."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from sqlalchemy import text

    from ledger.keys.signing import Signer, register_key
    from ledger.books.store import TransferSpec, _insert, _seal

    book(env.ledger, 0, 2)
    kept = create_checkpoint(env.engine, env.signer)
    intruder = Signer.from_private_key(Ed25519PrivateKey.generate())
    register_key(env.engine, intruder)
    spec = TransferSpec("ev-x", "platform:acme", "artist:mallory", 9 * 10**11, "USD", "reward",
                        datetime(2026, 11, 20, tzinfo=UTC))
    with env.engine.begin() as connection:  # straight into the database, past Ledger.append's guard
        head = connection.execute(text("SELECT seq, hash FROM transfers ORDER BY seq DESC LIMIT 1")).one()
        _insert(connection, _seal([(spec.id, spec)], head.seq, head.hash, intruder))
    report = verify_since(env.engine, kept.note)
    assert not report.ok and report.checked == 0
    assert report.problem.startswith("entry seq 8: key not valid") and "not in the log's key history" in report.problem
    forged = sign_checkpoint(Checkpoint(kept.checkpoint.origin, 4, kept.checkpoint.root_hash, kept.checkpoint.issued_at),
                             intruder.private_key)
    assert "not a checkpoint signed by a key of this ledger" in verify_since(env.engine, forged).problem


def test_after_a_kept_checkpoint_rewards_are_checked_against_their_evidence(env):
    """The evidence pass resumes at the kept checkpoint: a reward inserted after it without
    evidence, or paying again with evidence an event before it was paid by, is named."""
    from sqlalchemy import text

    from ledger.books.store import TransferSpec, _insert, _seal

    book(env.ledger, 0, 2)
    kept = create_checkpoint(env.engine, env.signer)
    book(env.ledger, 2, 1)
    with env.engine.connect() as connection:  # the first reward, before the kept checkpoint
        paid = connection.execute(text("SELECT event_id, memo FROM transfers WHERE kind = 'reward' ORDER BY seq")).first()

    def inserted(spec: TransferSpec) -> str:
        with env.engine.begin() as connection:  # straight into the database, sealed by the ledger's own key
            head = connection.execute(text("SELECT seq, hash FROM transfers ORDER BY seq DESC LIMIT 1")).one()
            _insert(connection, _seal([(spec.id, spec)], head.seq, head.hash, env.signer))
        return verify_since(env.engine, kept.note).problem

    when = datetime(2026, 11, 20, tzinfo=UTC)
    again = TransferSpec(paid.event_id, "platform:acme", "artist:mallory", 10_000, "USD", "reward", when, memo=paid.memo)
    assert "pays a second time" in inserted(again)
    env.drop_trigger("transfers_no_delete", "transfers")
    env.sql("DELETE FROM transfers WHERE seq = (SELECT MAX(seq) FROM transfers)")
    bare = TransferSpec(eid("bare"), "platform:acme", "artist:mallory", 10_000, "USD", "reward", when)
    assert "reward without evidence" in inserted(bare)
