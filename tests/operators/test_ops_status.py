"""`fairsplit status`: the stack as text and JSON — broker, lag per partition, dead letters
(from a real broker), and the ledger's newest checkpoint with its cosignatures (on SQLite
and PostgreSQL); what is missing is said, not a failure."""

from __future__ import annotations

import json
import uuid

import pytest


def test_status_without_a_broker_shows_the_ledger(cli, env, tmp_path):
    from datetime import UTC, datetime

    from ledger.books.store import TransferSpec

    when = datetime(2026, 11, 24, 12, tzinfo=UTC)
    env.ledger.append([TransferSpec(f"6f00000{n}-1a2b-4c3d-8e4f-5a6b7c8d9e0f", "platform:acme", "artist:van-gogh",
                                    1000 + n, "USD", "reward", when) for n in range(3)])
    assert cli("ledger", "checkpoint").exit_code == 0
    env.ledger.append([TransferSpec("6f000009-1a2b-4c3d-8e4f-5a6b7c8d9e0f", "platform:acme", "artist:monet", 5, "USD",
                                    "reward", when)])
    state = tmp_path / "state"
    report = json.loads(cli("status", "--state-dir", str(state), "--json").stdout)
    assert report["up"] is None and report["broker"]["reachable"] is False
    assert report["ledger"]["entries"] == 4
    checkpoint = report["ledger"]["checkpoint"]
    assert checkpoint["size"] == 3 and checkpoint["behind"] == 1 and checkpoint["cosigned_by"] == []
    text = cli("status", "--state-dir", str(state))
    assert text.exit_code == 0
    assert "last checkpoint at size 3 (1 newer entries)" in text.output and "cosigned by no witness" in text.output
    assert "up: not running in this folder" in text.output and "no broker" in text.output


@pytest.mark.kafka
def test_status_shows_lag_per_partition_and_dead_letters(cli, kafka_bootstrap, tmp_path):
    prefix = f"s{uuid.uuid4().hex[:8]}."
    events = tmp_path / "e.jsonl"
    events.write_text("".join(json.dumps({"event_id": str(uuid.uuid4()), "n": n}) + "\n" for n in range(5)))
    sent = cli("emit", str(events), "--bootstrap", kafka_bootstrap, "--topic-prefix", prefix, "--partitions", "2")
    assert sent.exit_code == 0, sent.output
    report = json.loads(cli("status", "--bootstrap", kafka_bootstrap, "--topic-prefix", prefix,
                            "--state-dir", str(tmp_path / "state"), "--json").stdout)
    broker = report["broker"]
    assert broker["reachable"] is True and broker["bootstrap"] == kafka_bootstrap
    events_lag = [p for p in broker["lag"] if p["topic"] == prefix + "generation.events"]
    assert [p["partition"] for p in events_lag] == [0, 1]
    assert all(p["group"] == prefix + "fairsplit-attribution" and p["committed"] is None for p in events_lag)
    assert sum(p["lag"] for p in events_lag) == 5
    assert broker["dead_letters"] == {prefix + "generation.events.dlq": 0, prefix + "attribution.results.dlq": 0}
    text = cli("status", "--bootstrap", kafka_bootstrap, "--topic-prefix", prefix, "--state-dir", str(tmp_path / "s"))
    assert "reachable" in text.output and "Consumer lag" in text.output
