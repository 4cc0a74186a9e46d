"""The JavaScript verifier (verify.html, in Chromium) against the Python one
(`fairsplit verify-proof`) on the same bundles: honest, tampered, wrong key, kept
checkpoints and witnesses, and a rotated ledger whose keys each sign a range of seqs
(a retired key's entry or checkpoint outside its range, the keys file's range lines,
key entries of amount 0). They must agree on every verdict, and on every valid one's
balances; a tampered bundle is never shown as valid."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from ledger.tlog.checkpoint import parse_note
from ledger.tlog.cosignature import CosignerKey, cosign
from ledger.crypto import generate_private_key, key_id
from ledger.keys.lifecycle import public_keyring
from ledger.tlog.public_keys import Keyring, KeyringError, PublicKeyInfo, parse_keyring
from ledger.tlog.proofs import BUNDLE_FORMAT
from ledger.transparency.proving import balance_bundle, prove_inclusion
from ledger.transparency.tree import create_checkpoint
from tests.portal.rotation import forged_bundle, make_rotated, resigned
from tests.portal.support import make_access_env, tampered_bundles, tampered_evidence


@pytest.fixture(scope="module")
def verify_html(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("offline") / "verify.html"
    result = CliRunner().invoke(app, ["portal", "verifier", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def ledger_files(sqlite_url, tmp_path):
    env = make_access_env(sqlite_url, tmp_path / "keys")
    keys = tmp_path / "ledger-keys.pem"
    keys.write_text(public_keyring(env.engine).render())
    yield env, keys
    env.engine.dispose()


@pytest.fixture
def rotated(sqlite_url, tmp_path):
    world = make_rotated(sqlite_url, tmp_path)
    yield world
    world.env.engine.dispose()


def python_verdict(tmp_path: Path, bundle: str, keys: Path, kept: str | None = None, witness: str | None = None):
    files = {"bundle": bundle, "kept": kept, "witness": witness}
    paths = {}
    for name, text in files.items():
        if text is not None:
            paths[name] = tmp_path / f"py-{name}.txt"
            paths[name].write_text(text)
    args = ["verify-proof", str(paths["bundle"]), "--public-key", str(keys), "--json"]
    if kept is not None:
        args += ["--previous-checkpoint", str(paths["kept"])]
    if witness is not None:
        args += ["--witness-key", str(paths["witness"])]
    result = CliRunner().invoke(app, args)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def browser_verdict(page, verify_html: Path, tmp_path: Path, bundle: str, keys: Path,
                    kept: str | None = None, witness: str | None = None) -> str:
    page.goto(verify_html.as_uri())
    (tmp_path / "js-bundle.json").write_text(bundle)
    page.set_input_files("#bundle-file", str(tmp_path / "js-bundle.json"))
    page.set_input_files("#keys-file", str(keys))
    for name, text, selector in (("kept", kept, "#kept-file"), ("witness", witness, "#witness-file")):
        if text is not None:
            (tmp_path / f"js-{name}.txt").write_text(text)
            page.set_input_files(selector, str(tmp_path / f"js-{name}.txt"))
    page.click("#verify-button")
    page.wait_for_selector("#verdict.ok, #verdict.bad", timeout=30_000)
    return page.inner_text("#verdict")


def assert_agree(python: dict, shown: str) -> None:
    assert shown.startswith("valid: ") == python["valid"], (python, shown)
    if python["valid"]:
        for currency, micros in (python["balances"] or {}).items():
            whole, cents = divmod(micros, 1_000_000)
            assert f"{whole}.{cents:06d}".rstrip("0").rstrip(".") in shown.replace(f" {currency}", ""), (python, shown)
    else:
        assert shown.startswith("invalid: ") and not shown.startswith("invalid: The document could not be checked")


def verdicts(page, verify_html: Path, tmp_path: Path, text: str, keys: Path, **extra) -> tuple[dict, str]:
    """Both verifiers' verdicts on one document; they must agree."""
    python = python_verdict(tmp_path, text, keys, **extra)
    shown = browser_verdict(page, verify_html, tmp_path, text, keys, **extra)
    assert_agree(python, shown)
    return python, shown


def test_honest_bundles_verify_in_both_with_the_same_balance(page, verify_html, ledger_files, tmp_path):
    env, keys = ledger_files
    for artist in ("van-gogh", "monet"):
        bundle = json.dumps(balance_bundle(env.engine, f"artist:{artist}"))
        python = python_verdict(tmp_path, bundle, keys)
        shown = browser_verdict(page, verify_html, tmp_path, bundle, keys)
        assert python["valid"] and shown.startswith("valid: "), shown
        assert f"3 entries of artist:{artist} are in the log; balance 1.212 USD" in shown
        assert python["balances"] == {"USD": 1_212_000}
        assert_agree(python, shown)


def test_every_tampered_bundle_is_refused_by_both(page, verify_html, ledger_files, tmp_path):
    env, keys = ledger_files
    bundle = balance_bundle(env.engine, "artist:van-gogh")
    foreign = balance_bundle(env.engine, "artist:monet")
    reasons = {}
    for name, text in tampered_bundles(bundle, foreign).items():
        python = python_verdict(tmp_path, text, keys)
        shown = browser_verdict(page, verify_html, tmp_path, text, keys)
        assert not python["valid"], name
        assert_agree(python, shown)
        reasons[name] = shown
    assert "altered" in reasons["amount edited"] and "altered" in reasons["amount and claims edited"]
    assert "add up to" in reasons["entry dropped"]
    assert "not in the tree" in reasons["proof altered"]
    assert "does not move money into or out of artist:van-gogh" in reasons["foreign entry"]
    assert "signature" in reasons["signature edited"]
    assert "repeats a key" in reasons["repeated key"]


def test_a_keys_file_of_another_ledger_is_refused_by_both(page, verify_html, ledger_files, tmp_path):
    env, _ = ledger_files
    other = generate_private_key().public_key()
    keys = tmp_path / "other-keys.pem"
    keys.write_text(Keyring("fairsplit/ledger", (PublicKeyInfo(key_id(other), other),)).render())
    bundle = json.dumps(balance_bundle(env.engine, "artist:van-gogh"))
    python = python_verdict(tmp_path, bundle, keys)
    shown = browser_verdict(page, verify_html, tmp_path, bundle, keys)
    assert not python["valid"] and "no signature by any of the trusted public keys" in shown
    assert_agree(python, shown)


def test_kept_checkpoints_grown_and_rewritten_logs(page, verify_html, ledger_files, tmp_path, sqlite_url):
    env, keys = ledger_files
    old = balance_bundle(env.engine, "artist:van-gogh")
    old_size = int(old["checkpoint"].split("\n")[1])
    from fractions import Fraction

    from tests.portal.support import WHEN

    env.reward("van-gogh-later", WHEN, 2_000_000, {"artist:van-gogh": Fraction(1, 2), "model:sd-1.5": Fraction(1, 2)})
    create_checkpoint(env.engine, env.signer)
    grown = json.dumps(balance_bundle(env.engine, "artist:van-gogh", since=old_size))
    python = python_verdict(tmp_path, grown, keys, kept=old["checkpoint"])
    shown = browser_verdict(page, verify_html, tmp_path, grown, keys, kept=old["checkpoint"])
    assert python["valid"] and f"the log only grew since the kept checkpoint (size {old_size} ->" in shown
    assert_agree(python, shown)

    without_proof = json.dumps(balance_bundle(env.engine, "artist:van-gogh"))
    python = python_verdict(tmp_path, without_proof, keys, kept=old["checkpoint"])
    shown = browser_verdict(page, verify_html, tmp_path, without_proof, keys, kept=old["checkpoint"])
    assert not python["valid"] and "no consistency proof from the kept checkpoint" in shown
    assert_agree(python, shown)

    # the same key signs a different history of the same size: a rewritten log
    rewritten_env = make_access_env(sqlite_url.replace("ledger.db", "rewritten.db"), Path(env.key_dir))
    rewritten = balance_bundle(rewritten_env.engine, "artist:monet")
    assert rewritten["checkpoint"].split("\n")[1] == str(old_size)
    python = python_verdict(tmp_path, json.dumps(rewritten), keys, kept=old["checkpoint"])
    shown = browser_verdict(page, verify_html, tmp_path, json.dumps(rewritten), keys, kept=old["checkpoint"])
    assert not python["valid"] and "the log was rewritten" in shown
    assert_agree(python, shown)
    rewritten_env.engine.dispose()


def test_witness_cosignatures_required_and_checked_by_both(page, verify_html, ledger_files, tmp_path):
    env, keys = ledger_files
    bundle = balance_bundle(env.engine, "artist:van-gogh")
    witness = generate_private_key()
    vkey = CosignerKey("guild.example/w1", witness.public_key()).vkey() + "\n"
    text, _ = parse_note(bundle["checkpoint"])
    cosigned = dict(bundle, checkpoint=bundle["checkpoint"] + cosign(text, "guild.example/w1", witness,
                                                                     int(datetime.now(UTC).timestamp())))
    for document, valid in ((cosigned, True), (bundle, False)):
        python = python_verdict(tmp_path, json.dumps(document), keys, witness=vkey)
        shown = browser_verdict(page, verify_html, tmp_path, json.dumps(document), keys, witness=vkey)
        assert python["valid"] is valid
        assert_agree(python, shown)
        assert ("cosigned by 1 witness (guild.example/w1)" in shown) if valid else ("not witnessed" in shown)
    forged = dict(cosigned, checkpoint=cosigned["checkpoint"][:-6] + ("AAAAA\n" if cosigned["checkpoint"][-6:] != "AAAAA\n" else "BBBBB\n"))
    python = python_verdict(tmp_path, json.dumps(forged), keys, witness=vkey)
    shown = browser_verdict(page, verify_html, tmp_path, json.dumps(forged), keys, witness=vkey)
    assert not python["valid"]
    assert_agree(python, shown)


def test_verify_html_is_self_contained_and_loads_nothing(verify_html):
    html = verify_html.read_text()
    assert "<script src" not in html and "<link" not in html and "http://" not in html and "https://" not in html
    assert "connect-src 'none'" in html and "script-src 'sha256-" in html


def test_rewards_are_checked_against_their_evidence_in_both(page, verify_html, ledger_files, tmp_path):
    env, keys = ledger_files
    bundle = balance_bundle(env.engine, "artist:van-gogh")
    foreign = balance_bundle(env.engine, "artist:monet")
    python, shown = verdicts(page, verify_html, tmp_path, json.dumps(bundle), keys)
    assert python["valid"] and "3 rewards are bound to a platform-signed event and a worker-signed result" in shown
    for name, (text, reason) in tampered_evidence(bundle, foreign).items():
        python, shown = verdicts(page, verify_html, tmp_path, text, keys)
        assert not python["valid"] and reason in shown, (name, shown)


# --- keys valid by seq range (a rotated ledger: key A signs 1..R, B from R + 1) ----------


def test_a_rotated_ledger_verifies_in_both_across_its_two_keys(page, verify_html, rotated, tmp_path):
    world, r = rotated, rotated.rotation_seq
    text = world.keys.read_text()
    assert f"# first_seq: 1\n# last_seq: {r}\n" in text and f"# first_seq: {r + 1}\n# last_seq: -\n" in text
    bundle = balance_bundle(world.env.engine, "artist:van-gogh")
    assert {e["entry"]["key_id"] for e in bundle["entries"]} == {world.retired.key_id, world.current.key_id}
    python, shown = verdicts(page, verify_html, tmp_path, json.dumps(bundle), world.keys)
    assert python["valid"] and python["balances"] == {"USD": 2_212_000}
    assert "4 entries of artist:van-gogh are in the log; balance 2.212 USD" in shown
    # A's last checkpoint (size R - 1) stays valid: A was the key current after entry R - 1
    python, shown = verdicts(page, verify_html, tmp_path, json.dumps(world.before), world.keys)
    assert python["valid"] and f"tree size {r - 1} " in shown
    # the rotation entry itself: kind key, amount 0, signed by A, proven under B's checkpoint
    proof = prove_inclusion(world.env.engine, r)
    assert (proof["entry"]["kind"], proof["entry"]["amount"], proof["entry"]["key_id"]) == ("key", 0, world.retired.key_id)
    python, shown = verdicts(page, verify_html, tmp_path, json.dumps(proof), world.keys)
    assert python["valid"] and f"entry seq {r} " in shown


def test_a_retired_key_signs_nothing_outside_its_range_in_either(page, verify_html, rotated, tmp_path):
    world = rotated
    honest = balance_bundle(world.env.engine, "artist:van-gogh")
    refused = {
        "entry by the retired key after its range": forged_bundle(world, world.retired, world.current),
        "checkpoint by the retired key after its range":
            json.dumps(dict(honest, checkpoint=resigned(honest["checkpoint"], world.retired))),
        "entry and checkpoint by the retired key": forged_bundle(world, world.retired, world.retired),
        "checkpoint by the new key before its range":
            json.dumps(dict(world.before, checkpoint=resigned(world.before["checkpoint"], world.current))),
    }
    for name, text in refused.items():
        python, shown = verdicts(page, verify_html, tmp_path, text, world.keys)
        assert not python["valid"] and "Signed with a key outside its range" in shown, (name, shown)
    # the same forgery by the current key passes the key ranges; its reward has no evidence
    python, shown = verdicts(page, verify_html, tmp_path, forged_bundle(world, world.current, world.current), world.keys)
    assert not python["valid"] and f"seq {len(world.rows()) + 1} is a reward without evidence" in shown
    # a keys file from before the rotation still shows A open: the ranges pass; the evidence and a witness catch it
    forged = refused["entry and checkpoint by the retired key"]
    python, shown = verdicts(page, verify_html, tmp_path, forged, world.stale)
    assert not python["valid"] and "is a reward without evidence" in shown
    vkey = CosignerKey("guild.example/w1", generate_private_key().public_key()).vkey() + "\n"
    python, shown = verdicts(page, verify_html, tmp_path, forged, world.stale, witness=vkey)
    assert not python["valid"] and "not witnessed" in shown


def test_legacy_below_lets_a_key_sign_the_size_it_ended_at_in_both(page, verify_html, rotated, tmp_path):
    """Ledgers rotated before key entries checkpointed right before rotating: below
    `legacy_below`, a checkpoint of size N may be signed by the key of entry N."""
    world, r = rotated, rotated.rotation_seq
    note = resigned(world.before["checkpoint"], world.retired, size=r, rows=world.rows())
    empty = json.dumps({"format": BUNDLE_FORMAT, "account": "artist:van-gogh", "balances": {}, "display": {},
                        "entries": [], "checkpoint": note})
    python, shown = verdicts(page, verify_html, tmp_path, empty, world.keys)
    assert not python["valid"] and "outside its range" in shown
    legacy = tmp_path / "legacy-keys.pem"
    legacy.write_text(replace(parse_keyring(world.keys.read_text()), legacy_below=r + 1).render())
    assert f"# legacy_below: {r + 1}\n" in legacy.read_text()
    python, shown = verdicts(page, verify_html, tmp_path, empty, legacy)
    assert python["valid"] and f"tree size {r} " in shown


def test_amount_zero_only_for_key_entries_in_both(page, verify_html, rotated, tmp_path):
    world = rotated
    bundle = balance_bundle(world.env.engine, "artist:van-gogh")
    bundle["entries"][0]["entry"]["amount"] = 0
    key_entry = prove_inclusion(world.env.engine, world.rotation_seq)
    key_entry["entry"]["kind"] = "reward"
    for document in (bundle, key_entry):
        python, shown = verdicts(page, verify_html, tmp_path, json.dumps(document), world.keys)
        assert not python["valid"] and "amount 0 only for a log entry of kind key or close" in shown, shown


def test_the_keys_file_range_lines_read_the_same_in_both(page, verify_html, rotated, tmp_path):
    world, r = rotated, rotated.rotation_seq
    text = world.keys.read_text()
    by_time = "# created_at: 2026-11-01T00:00:00.000000Z\n# retired_at: 2026-11-02T00:00:00.000000Z\n"
    malformed = {
        "a gap between the ranges": text.replace(f"# first_seq: {r + 1}\n", f"# first_seq: {r + 2}\n"),
        "the current key closed": text.replace("# last_seq: -\n", f"# last_seq: {r + 5}\n"),
        "the first key left out": text[text.index(f"# key_id: {world.current.key_id}"):],
        "a seq with a leading zero": text.replace(f"# last_seq: {r}\n", f"# last_seq: 0{r}\n"),
        "two keys valid by time": re.sub(r"# first_seq: .*\n# last_seq: .*\n", by_time, text),
        "a key twice": text + text[text.index(f"# key_id: {world.current.key_id}"):].replace(
            f"# first_seq: {r + 1}\n# last_seq: -", f"# first_seq: {r + 1}\n# last_seq: {r + 1}"),
    }
    bundle = json.dumps(balance_bundle(world.env.engine, "artist:van-gogh"))
    for name, variant in malformed.items():
        with pytest.raises(KeyringError) as python:
            parse_keyring(variant)
        keys = tmp_path / "variant-keys.pem"
        keys.write_text(variant)
        assert browser_verdict(page, verify_html, tmp_path, bundle, keys) == f"invalid: {python.value}", name
    # a file from before seq ranges, of one key: valid from seq 1 on, its times ignored
    old_style = tmp_path / "old-style-keys.pem"
    old_style.write_text(world.stale.read_text().replace("# first_seq: 1\n# last_seq: -\n", by_time))
    assert "first_seq" not in old_style.read_text()
    python, _ = verdicts(page, verify_html, tmp_path, json.dumps(world.before), old_style)
    assert python["valid"]
