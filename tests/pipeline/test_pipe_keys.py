"""Key lifecycle through the CLI: platforms rotate and revoke their keys, operators list and
revoke service keys, and `sign` signs only with a platform's active key what admission
will accept."""

from __future__ import annotations

import json
import random

from ledger.crypto import generate_private_key, read_private_key, write_private_key
from services.signing import sign_event
from tests.pipeline.support import PLATFORM


def _lines(events) -> str:
    return "".join(json.dumps(event) + "\n" for event in events)


def test_a_rotated_or_revoked_platform_key_signs_nothing_that_is_paid(sqlite_pipeline, tmp_path):
    pipeline = sqlite_pipeline
    rng = random.Random(4)
    old_signed = pipeline.event(rng)
    rotated = pipeline.cli("platforms", "rotate-key", PLATFORM, "--key-out", str(tmp_path / "acme-2.pem"))
    assert rotated.exit_code == 0 and "now signs with key" in rotated.output
    new_key = read_private_key(tmp_path / "acme-2.pem")
    (tmp_path / "old.jsonl").write_text(_lines([old_signed]))
    refused = pipeline.cli("ingest", str(tmp_path / "old.jsonl"), "--json")
    assert refused.exit_code == 1
    assert "not signed by an active key of platform acme" in json.loads(refused.stdout)["lines"][0]["reason"]

    (tmp_path / "new.jsonl").write_text(_lines([pipeline.event(rng, platform_key=new_key)]))
    assert pipeline.cli("ingest", str(tmp_path / "new.jsonl")).exit_code == 0

    revoked = pipeline.cli("platforms", "revoke-key", PLATFORM, "--reason", "leaked on a laptop")
    assert revoked.exit_code == 0 and "refused until it has a new key" in revoked.output
    (tmp_path / "late.jsonl").write_text(_lines([pipeline.event(rng, platform_key=new_key)]))
    late = pipeline.cli("ingest", str(tmp_path / "late.jsonl"), "--json")
    assert late.exit_code == 1 and "has no active key" in json.loads(late.stdout)["lines"][0]["reason"]
    listed = json.loads(pipeline.cli("platforms", "list", "--json").stdout)
    assert [(k["status"], k["reason"]) for k in listed if k["platform_id"] == PLATFORM] == [
        ("revoked", f"rotated to {listed[1]['key_id']}"), ("revoked", "leaked on a laptop")]
    assert pipeline.cli("ledger", "verify").exit_code == 0  # history stays verifiable


def test_operators_list_and_revoke_worker_keys(sqlite_pipeline, tmp_path):
    pipeline = sqlite_pipeline
    keys = json.loads(pipeline.cli("keys", "list", "--json").stdout)
    worker = next(k for k in keys if k["holder"] == "attribution-worker")
    assert worker["status"] == "active" and any(k["holder"] == "ledger" for k in keys)
    revoked = pipeline.cli("keys", "revoke", worker["key_id"], "--reason", "host decommissioned")
    assert revoked.exit_code == 0
    (tmp_path / "e.jsonl").write_text(_lines([pipeline.event(random.Random(1))]))
    refused = pipeline.cli("ingest", str(tmp_path / "e.jsonl"))
    assert refused.exit_code == 2 and "not enrolled" in refused.output and "revoked" in refused.output
    again = pipeline.cli("keys", "enroll", "attribution-worker")
    assert again.exit_code == 2 and "was revoked" in again.output
    assert pipeline.cli("keys", "revoke", "0000000000000000", "--reason", "x").exit_code == 2


def test_sign_checks_the_key_and_every_event_before_writing_anything(sqlite_pipeline, tmp_path):
    pipeline = sqlite_pipeline
    key = write_private_key(tmp_path / "acme.pem", pipeline.platform_key)
    rng = random.Random(2)
    good = {k: v for k, v in pipeline.event(rng).items() if k != "signature"}
    negative = {**good, "reward": {"amount": "-1.00", "currency": "USD"}}
    unserved = {**good, "model": {"id": "sd-xl", "revision": "1"}}
    (tmp_path / "events.jsonl").write_text(_lines([good, negative, unserved]))
    out = tmp_path / "signed.jsonl"
    refused = pipeline.cli("sign", str(tmp_path / "events.jsonl"), "--platform", PLATFORM, "--key", str(key),
                           "--out", str(out))
    assert refused.exit_code == 2 and "line 2" in refused.output and "negative" in refused.output
    assert not out.exists()  # all or nothing

    (tmp_path / "unserved.jsonl").write_text(_lines([good, unserved]))
    assert "is not served" in pipeline.cli("sign", str(tmp_path / "unserved.jsonl"), "--platform", PLATFORM,
                                           "--key", str(key)).output
    stranger = write_private_key(tmp_path / "stranger.pem", generate_private_key())
    foreign = pipeline.cli("sign", str(tmp_path / "unserved.jsonl"), "--platform", PLATFORM, "--key", str(stranger))
    assert foreign.exit_code == 2 and "not an active key of platform:acme" in foreign.output
    (tmp_path / "one.jsonl").write_text(_lines([good]))
    nodir = pipeline.cli("sign", str(tmp_path / "one.jsonl"), "--platform", PLATFORM, "--key", str(key),
                         "--out", str(tmp_path / "nodir" / "s.jsonl"))
    assert nodir.exit_code == 2 and "does not exist" in nodir.output and "Traceback" not in nodir.output
    signed = pipeline.cli("sign", str(tmp_path / "one.jsonl"), "--platform", PLATFORM, "--key", str(key), "--out", str(out))
    assert signed.exit_code == 0 and "1 events signed" in signed.output
    assert json.loads(out.read_text())["signature"] == sign_event(good, pipeline.platform_key)["signature"]
