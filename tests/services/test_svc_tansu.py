"""The broker launcher: a clear error without a binary; the session broker answers metadata
and keeps what it is sent."""

from __future__ import annotations

import pytest

from services.tansu import BrokerNotFound, find_tansu, wait_for_broker


def test_missing_binary_is_a_clear_error(tmp_path):
    missing = str(tmp_path / "no-such-tansu")
    with pytest.raises(BrokerNotFound, match="not a file"):
        find_tansu(missing)


def test_up_says_so_in_one_sentence(migrated_sqlite_url, tmp_path):
    from typer.testing import CliRunner

    from cli import app

    base = ["--database-url", migrated_sqlite_url, "--key-dir", str(tmp_path / "k")]
    for args in (["init"], ["keys", "enroll", "attribution-worker"]):
        assert CliRunner().invoke(app, [*base, *args]).exit_code == 0
    result = CliRunner().invoke(app, [*base, "up"], env={"FAIRSPLIT_TANSU_BIN": str(tmp_path / "no-such-tansu")})
    assert result.exit_code == 2 and "not a file" in result.output and "Traceback" not in result.output


def test_session_broker_answers_metadata(kafka_bootstrap, kafka_io, topic):
    """It advertises the address it was started on, creates topics with the partitions asked
    for, and gives back what it was sent, in order within a partition."""
    from services.kafka import ensure_topics, make_admin

    wait_for_broker(kafka_bootstrap, timeout=5)
    ensure_topics(kafka_bootstrap, [topic], partitions=2)
    admin = make_admin(kafka_bootstrap)
    try:
        brokers = admin.describe_cluster()["brokers"]
        [described] = admin.describe_topics([topic])
    finally:
        admin.close()
    assert [f"{b['host']}:{b['port']}" for b in brokers] == [kafka_bootstrap]
    assert described["error_code"] == 0 and sorted(p["partition_index"] for p in described["partitions"]) == [0, 1]
    kafka_io.produce(topic, [b"first", b"second", b"third"], keys=[b"k"] * 3)
    assert [r.value for r in kafka_io.read(topic, 3)] == [b"first", b"second", b"third"]
