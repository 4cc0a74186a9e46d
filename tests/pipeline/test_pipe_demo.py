"""`fairsplit up --demo` — the README's main job — on a fresh directory, offline.

The demo is the session's demo world (tests/portal/world.py, built once: the portal tests
read it too); this test checks what its `up --demo` printed and left behind, then draws one of
its events with `fairsplit explain` (a real process; its refusals run in this one)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from cli import app
from tests.portal.world import DEMO_EVENTS

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def test_up_demo_runs_offline_and_prints_balances_that_add_up(world, monkeypatch):
    result = world.demo
    assert result.returncode == 0, result.stdout + result.stderr
    shown = json.loads(result.stdout)
    assert shown["test_model"] is True and shown["recorded"] == shown["emitted"] == DEMO_EVENTS and shown["ledger_intact"]
    assert "started a new demo in sqlite:///./fairsplit.db" in result.stderr
    assert result.stderr.count("booked ") == DEMO_EVENTS  # one line per booked event, as it is booked
    balances = {b["account"]: b["amount"] for b in shown["balances"]}
    paid = sum(Decimal(v) for k, v in balances.items() if not k.startswith("platform:"))
    assert paid > 0 and paid == -Decimal(balances["platform:demo-platform"])
    assert (world.folder / "fairsplit.db").exists() and (world.folder / ".fairsplit" / "logs" / "ledger.log").exists()
    assert re.search(r"broker at 127\.0\.0\.1:\d+", result.stderr)

    # `fairsplit explain` draws one of the recorded events, in the demo's folder
    tmp, env = world.folder, world.env()
    event_id = sqlite3.connect(world.folder / "fairsplit.db").execute("SELECT event_id FROM events").fetchone()[0]
    cli = [sys.executable, str(ROOT / "cli.py"), "explain"]
    drawn = subprocess.run([*cli, event_id, "--out", "why.png"], cwd=tmp, env=env, capture_output=True, text=True, timeout=120)
    assert drawn.returncode == 0, drawn.stderr
    works = re.search(r"(\d+) gallery works", drawn.stdout)
    assert works and int(works.group(1)) > 0, drawn.stdout  # the demo artists' works are shown
    with Image.open(tmp / "why.png") as picture:
        assert picture.format == "PNG" and picture.width > 600 and picture.height > 400
    # the refusals need no process of their own: the same command, in this one, in the demo's folder
    monkeypatch.chdir(tmp)
    for name in [n for n in os.environ if n.startswith("FAIRSPLIT_") and n not in env]:
        monkeypatch.delenv(name)  # the settings the real process had: the folder's, not the session's
    unknown = "00000000-0000-4000-8000-000000000000"
    missing = CliRunner().invoke(app, ["explain", unknown, "--out", "x.png"])
    assert missing.exit_code == 2 and f"event {unknown} is not in the ledger" in missing.stderr
    malformed = CliRunner().invoke(app, ["explain", "no-such-event", "--out", "x.png"])
    assert malformed.exit_code == 2 and "event ids are lower-case UUIDs" in malformed.stderr
    assert not (tmp / "x.png").exists()
    again = CliRunner().invoke(app, ["explain", event_id, "--out", "why.png"])
    assert again.exit_code == 2 and "why.png is a file that exists" in again.stderr  # never overwritten silently
