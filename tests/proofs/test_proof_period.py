"""Per-period balance bundles: the signed opening (the close before), the period's entries
with their proofs, the closing (its own close entry); verified offline, a year a chain."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from fractions import Fraction

import pytest

from ledger.payouts.close import close_period
from ledger.keys.lifecycle import public_keyring
from ledger.transparency.period_bundles import period_bundle
from ledger.payouts.periods import parse_period
from ledger.tlog.proofs import VerificationError, verify_document
from ledger.books.store import Ledger
from services.signed_rewards import enrol, reward
from tests.payouts.support import eid

ARTIST = "artist:van-gogh"
SHARES = {ARTIST: Fraction(2, 3), "model:sd-1.5": Fraction(1, 3)}
LATER = datetime(2027, 6, 1, tzinfo=UTC)
JAN, FEB, MAR = (parse_period(f"2026-0{m}") for m in (1, 2, 3))


@pytest.fixture
def ledger(env) -> Ledger:
    """Three months of rewards on the one ledger fixture; January and February closed."""
    ledger = env.ledger
    signers = enrol(ledger)  # rewards are booked as the writer books them: bound to signed evidence
    for month in (1, 2, 3):
        for i in range(6):
            reward(ledger, signers, eid(f"m{month}-{i}"), SHARES, 1_000_000 + 70_000 * i,
                   when=datetime(2026, month, 2 + i, tzinfo=UTC))
        if month > 1:
            close_period(ledger, parse_period(f"2026-0{month - 1}"), "USD", minimum=3_000_000, now=LATER)
    return ledger


def check(ledger: Ledger, bundle: dict):
    return verify_document(json.dumps(bundle), public_keyring(ledger.engine))


def test_a_period_bundle_proves_opening_entries_and_closing_offline(ledger):
    feb = period_bundle(ledger.engine, ARTIST, FEB, ledger.signer)
    usd = feb["period"]["currencies"]["USD"]
    assert usd["opening_entry"] is not None and usd["closing_entry"] is not None
    rewards = [part for part in feb["entries"] if part["entry"]["kind"] == "reward"]
    assert len(rewards) == 6 and all(p["entry"]["occurred_at"].startswith("2026-02") for p in rewards)
    verified = check(ledger, feb)
    assert len(feb["evidence"]) == 6 and feb["key_entries"]  # each reward's signed evidence, and the keys
    assert any("bound to a platform-signed event" in line for line in verified.lines)
    unbound = copy.deepcopy(feb)
    unbound["evidence"].pop()
    with pytest.raises(VerificationError, match="does not carry"):
        check(ledger, unbound)
    closing = json.loads(usd["closing_entry"]["entry"]["memo"])["carried"]
    march = period_bundle(ledger.engine, ARTIST, MAR, ledger.signer)
    assert verified.balances == {"USD": closing}
    assert closing + sum(part["entry"]["amount"] for part in march["entries"]) == ledger.balance(ARTIST)["USD"]
    jan = period_bundle(ledger.engine, ARTIST, JAN, ledger.signer)
    assert jan["period"]["currencies"]["USD"]["opening_entry"] is None  # the first period opens at 0
    assert jan["period"]["currencies"]["USD"]["closing_entry"] == usd["opening_entry"]  # a chain
    check(ledger, jan)
    assert march["period"]["currencies"]["USD"]["closing_entry"] is None and check(ledger, march).balances


def test_a_period_bundle_with_an_edited_opening_a_dropped_or_foreign_entry_is_refused(ledger):
    feb = period_bundle(ledger.engine, ARTIST, FEB, ledger.signer)
    forged = copy.deepcopy(feb)
    forged["period"]["currencies"]["USD"]["opening"] += 1
    forged["balances"]["USD"] += 1
    forged.pop("display")
    with pytest.raises(VerificationError, match="opening entry carried"):
        check(ledger, forged)
    dropped = copy.deepcopy(feb)
    gone = dropped["entries"].pop(0)
    dropped["balances"]["USD"] -= gone["entry"]["amount"]
    dropped.pop("display")
    with pytest.raises(VerificationError, match="closing entry carried"):  # an omission breaks the signed closing
        check(ledger, dropped)
    foreign = copy.deepcopy(feb)
    march = period_bundle(ledger.engine, ARTIST, MAR, ledger.signer)
    foreign["entries"].append(march["entries"][0])
    with pytest.raises(VerificationError, match="does not count in 2026-02"):
        check(ledger, foreign)


def test_cli_balance_proof_period_verifies_offline(tmp_path, database_url):
    from typer.testing import CliRunner

    from cli import app
    from tests.proofs.test_proof_cli import offline_verify

    runner = CliRunner()
    base = ["--database-url", database_url, "--key-dir", str(tmp_path / "keys")]
    for args in (["init"], ["ledger", "demo", "--events", "4"], ["payouts", "close", "2026-11"]):
        assert runner.invoke(app, [*base, *args]).exit_code == 0
    keys, bundle = tmp_path / "ledger-keys.pem", tmp_path / "november.json"
    assert runner.invoke(app, [*base, "keys", "public", "--out", str(keys)]).exit_code == 0
    made = runner.invoke(app, [*base, "balance", "van-gogh", "--proof", str(bundle), "--period", "2026-11"])
    assert made.exit_code == 0, made.output
    document = json.loads(bundle.read_text())
    assert document["period"]["id"] == "2026-11" and document["period"]["currencies"]["USD"]["closing_entry"]
    done = offline_verify(tmp_path, bundle, keys)
    assert done.returncode == 0 and "2026-11 opens with the balances the close before it carried" in done.stdout
