"""`fairsplit up` stops everything it started on SIGTERM as on Ctrl-C, and its services die
with it even when it is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.databases import SQLITE

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _in_their_loops(tmp_path: Path) -> bool:
    """Both services of `up` joined their group: they run their loops, with their handlers."""
    logs = [tmp_path / ".fairsplit" / "logs" / f"{name}.log" for name in ("attribution", "ledger")]
    return all(log.exists() and '"partitions assigned"' in log.read_text(errors="replace") for log in logs)


def _start(tmp_path: Path) -> tuple[subprocess.Popen, dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRSPLIT_")}
    env.update(HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT), FAIRSPLIT_MODEL_CACHE=os.environ["FAIRSPLIT_MODEL_CACHE"])
    cli = [sys.executable, str(ROOT / "cli.py")]
    SQLITE.copy_to(tmp_path / "fairsplit.db")  # the default database, at head; `init` makes the key
    for args in (["init"], ["keys", "enroll", "attribution-worker"]):
        assert subprocess.run([*cli, *args], cwd=tmp_path, env=env, capture_output=True, timeout=120).returncode == 0
    up = subprocess.Popen([*cli, "up"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(_children(up.pid)) < 3:  # the broker and both services
        assert up.poll() is None, up.stderr.read()
        assert time.monotonic() < deadline, "up did not start its broker and services"
        time.sleep(0.3)
    return up, env


def test_sigterm_stops_up_and_everything_it_started(tmp_path):
    up, _ = _start(tmp_path)
    children = _children(up.pid)
    deadline = time.monotonic() + 120
    while not _in_their_loops(tmp_path):  # SIGTERM a running stack, not one still starting
        assert up.poll() is None and time.monotonic() < deadline, "the services never joined their group"
        time.sleep(0.3)
    up.send_signal(signal.SIGTERM)
    assert up.wait(timeout=120) == 0  # a stop asked for, like Ctrl-C: not a failure
    stderr = up.stderr.read()
    assert "stopped." in stderr and "Traceback" not in stderr
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in children)


def test_the_broker_and_services_die_with_a_killed_up(tmp_path):
    up, _ = _start(tmp_path)
    services = _children(up.pid)
    assert len(services) == 3
    up.kill()
    up.wait(timeout=30)
    deadline = time.monotonic() + 60
    while any(_alive(pid) for pid in services) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in services)
