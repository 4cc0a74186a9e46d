"""`fairsplit up --demo` — the README's main job — on a fresh directory, offline."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def test_up_demo_runs_offline_and_prints_balances_that_add_up(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRSPLIT_")}
    env.update(HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT), COLUMNS="120")
    result = subprocess.run([sys.executable, str(ROOT / "cli.py"), "up", "--demo", "--events", "5", "--json"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stdout + result.stderr
    import json

    balances = {b["account"]: b["amount"] for b in json.loads(result.stdout)["balances"]}
    from decimal import Decimal

    paid = sum(Decimal(v) for k, v in balances.items() if not k.startswith("platform:"))
    assert paid > 0 and paid == -Decimal(balances["platform:demo-platform"])
    assert (tmp_path / "fairsplit.db").exists() and (tmp_path / ".fairsplit" / "logs" / "ledger.log").exists()
    assert re.search(r"broker at 127\.0\.0\.1:\d+", result.stderr)
