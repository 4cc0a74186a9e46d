"""The broker launcher: a clear error without a binary; the session broker answers metadata."""

from __future__ import annotations

import pytest

from services.tansu import BrokerNotFound, TansuBroker, find_tansu, wait_for_broker


def test_missing_binary_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("FAIRSPLIT_TANSU_BIN", str(tmp_path / "no-such-tansu"))
    with pytest.raises(BrokerNotFound, match="not a file"):
        find_tansu()
    with pytest.raises(BrokerNotFound):
        TansuBroker().start()


def test_session_broker_answers_metadata(kafka_bootstrap):
    wait_for_broker(kafka_bootstrap, timeout=5)
