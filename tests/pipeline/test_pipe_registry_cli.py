"""Registry commands: platforms get 0600 private keys that are never overwritten, artists
are listed, and `attribute` uses a registered artist's stored gallery."""

from __future__ import annotations

import json
import stat
import time

import pytest

from ledger.crypto import read_private_key, write_private_key


def test_platforms_add_writes_a_private_key_only_its_owner_can_read(sqlite_pipeline, tmp_path):
    key = tmp_path / "globex.pem"
    result = sqlite_pipeline.cli("platforms", "add", "globex", "--key-out", str(key))
    assert result.exit_code == 0 and str(key) in result.output
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    read_private_key(key)  # a real PKCS#8 Ed25519 key
    listed = json.loads(sqlite_pipeline.cli("platforms", "list", "--json").output)
    assert {p["platform_id"] for p in listed} == {"acme", "globex"}

    again = sqlite_pipeline.cli("platforms", "add", "initech", "--key-out", str(key))
    assert again.exit_code == 2 and "already exists" in again.output
    assert "initech" not in sqlite_pipeline.cli("platforms", "list").output


def test_bad_registry_input_is_one_clear_sentence(sqlite_pipeline, tmp_path):
    bad_id = sqlite_pipeline.cli("platforms", "add", "Not Valid", "--key-out", str(tmp_path / "k.pem"))
    assert bad_id.exit_code == 2 and "must be 1-64 characters" in bad_id.output
    assert not (tmp_path / "k.pem").exists()
    no_folder = sqlite_pipeline.cli("artists", "add", "x", "--name", "X", "--gallery", str(tmp_path / "nope"), "--profile", "tiny")
    assert no_folder.exit_code == 2 and "does not exist" in no_folder.output


def test_attribute_uses_registered_galleries_and_synthesizes_the_rest(sqlite_pipeline):
    listed = json.loads(sqlite_pipeline.cli("artists", "list", "--json").output)
    assert {a["artist_id"] for a in listed} == {"van-gogh", "hokusai", "klimt"}
    result = sqlite_pipeline.cli("attribute", "--profile", "tiny", "--model-id", "tiny-sd", "--content", "a cat",
                                 "--style", "van-gogh=by Van Gogh", "--style", "banksy=by Banksy", "--json")
    assert result.exit_code == 0, result.output
    sources = {p["id"]: p["gallery_source"] for p in json.loads(result.output)["players"] if p["kind"] == "artist"}
    assert sources == {"van-gogh": "gallery", "banksy": "synthesized"}


@pytest.mark.slow  # the Kafka client gives up on the broker after its own timeout
def test_an_unreachable_broker_is_one_sentence_not_a_traceback(sqlite_pipeline, tmp_path):
    from services.tansu import free_port

    key = write_private_key(tmp_path / "acme.pem", sqlite_pipeline.platform_key)
    bootstrap = f"127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    result = sqlite_pipeline.cli("emit", "--sample", "1", "--platform", "acme", "--key", str(key), "--bootstrap", bootstrap)
    assert time.monotonic() - started < 25  # ADMIN_BOOTSTRAP_TIMEOUT_MS (10 s), not kafka-python's 30 s
    assert result.exit_code == 2
    assert f"cannot use the Kafka broker at {bootstrap}" in result.output and "Traceback" not in result.output
