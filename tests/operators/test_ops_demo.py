"""Issue 23 defect 1: `ledger demo` books its sample rewards (signed, with their evidence)
only into an empty demo ledger, never into one with real registrations or rewards, and
says they mean nothing; the demo ledger verifies."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from ledger.books.schema import TRANSFERS


def _transfers(env) -> int:
    with env.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(TRANSFERS)).scalar_one()


def test_ledger_demo_refuses_a_ledger_with_a_registered_platform(cli, env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli("platforms", "add", "acme").exit_code == 0
    before = _transfers(env)  # the platform's key entry
    result = cli("ledger", "demo")
    assert result.exit_code == 2 and "up --demo" in result.output and "Booked" not in result.output
    assert _transfers(env) == before


def test_ledger_demo_in_an_empty_ledger_says_the_transfers_mean_nothing(cli, env):
    result = cli("ledger", "demo")
    assert result.exit_code == 0 and "Booked 9 new" in result.output
    assert "demo platform and worker" in result.output and "mean nothing" in result.output
    assert _transfers(env) == 3 + 9  # evidence start, the demo platform's and worker's keys, 3 events × 3 rewards
    verified = cli("ledger", "verify", "--json")
    assert verified.exit_code == 0 and json.loads(verified.output)["ok"], verified.output
