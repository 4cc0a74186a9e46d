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

    shown = json.loads(result.stdout)
    assert shown["test_model"] is True and shown["recorded"] == shown["emitted"] == 5 and shown["ledger_intact"]
    assert "started a new demo in sqlite:///./fairsplit.db" in result.stderr
    assert result.stderr.count("booked ") == 5  # one line per booked event, as it is booked
    balances = {b["account"]: b["amount"] for b in shown["balances"]}
    from decimal import Decimal

    paid = sum(Decimal(v) for k, v in balances.items() if not k.startswith("platform:"))
    assert paid > 0 and paid == -Decimal(balances["platform:demo-platform"])
    assert (tmp_path / "fairsplit.db").exists() and (tmp_path / ".fairsplit" / "logs" / "ledger.log").exists()
    assert re.search(r"broker at 127\.0\.0\.1:\d+", result.stderr)

    # `fairsplit explain` draws one of the recorded events
    import sqlite3

    event_id = sqlite3.connect(tmp_path / "fairsplit.db").execute("SELECT event_id FROM events").fetchone()[0]
    cli = [sys.executable, str(ROOT / "cli.py"), "explain"]
    drawn = subprocess.run([*cli, event_id, "--out", "why.png"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert drawn.returncode == 0, drawn.stderr
    works = re.search(r"(\d+) gallery works", drawn.stdout)
    assert works and int(works.group(1)) > 0, drawn.stdout  # the demo artists' works are shown
    from PIL import Image

    with Image.open(tmp_path / "why.png") as picture:
        assert picture.format == "PNG" and picture.width > 600 and picture.height > 400
    unknown = "00000000-0000-4000-8000-000000000000"
    missing = subprocess.run([*cli, unknown, "--out", "x.png"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert missing.returncode == 2 and f"event {unknown} is not in the ledger" in missing.stderr
    malformed = subprocess.run([*cli, "no-such-event", "--out", "x.png"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert malformed.returncode == 2 and "event ids are lower-case UUIDs" in malformed.stderr
    assert not (tmp_path / "x.png").exists()
    again = subprocess.run([*cli, event_id, "--out", "why.png"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and "why.png is a file that exists" in again.stderr  # never overwritten silently
