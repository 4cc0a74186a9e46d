"""The broker launcher: a clear error without a binary; the session broker answers metadata."""

from __future__ import annotations

import pytest

from services.tansu import BrokerNotFound, find_tansu, wait_for_broker


def test_missing_binary_is_a_clear_error(tmp_path):
    missing = str(tmp_path / "no-such-tansu")
    with pytest.raises(BrokerNotFound, match="not a file"):
        find_tansu(missing)


def test_up_says_so_in_one_sentence(tmp_path):
    from typer.testing import CliRunner

    from cli import app

    base = ["--database-url", f"sqlite:///{tmp_path}/l.db", "--key-dir", str(tmp_path / "k")]
    for args in (["init"], ["keys", "enroll", "attribution-worker"]):
        assert CliRunner().invoke(app, [*base, *args]).exit_code == 0
    result = CliRunner().invoke(app, [*base, "up"], env={"FAIRSPLIT_TANSU_BIN": str(tmp_path / "no-such-tansu")})
    assert result.exit_code == 2 and "not a file" in result.output and "Traceback" not in result.output


def test_session_broker_answers_metadata(kafka_bootstrap):
    wait_for_broker(kafka_bootstrap, timeout=5)
