"""Issue 23 defects 2 and 7: `up` records its broker, so `emit`, `dead-letters --topic` and
`status` in the same folder find it without --bootstrap; a SIGINT to `up`'s process group outside
a terminal (SIGINT ignored, as a shell leaves a background job) stops it cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRSPLIT_")}
    env.update(HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT), FAIRSPLIT_MODEL_CACHE=os.environ["FAIRSPLIT_MODEL_CACHE"])
    return env


def _cli(tmp_path: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=timeout)


def _ignore_sigint_in_own_group() -> None:
    os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _Up:
    """`fairsplit up` in `tmp_path`, its stderr collected as it comes."""

    def __init__(self, tmp_path: Path) -> None:
        for args in (["init"], ["keys", "enroll", "attribution-worker"]):
            assert _cli(tmp_path, *args).returncode == 0
        self.process = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "up"], cwd=tmp_path, env=_env(),
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        stdin=subprocess.DEVNULL, preexec_fn=_ignore_sigint_in_own_group)
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(self.process.stderr), daemon=True).start()

    def wait_for(self, fragment: str, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(fragment in line for line in self.lines):
            assert self.process.poll() is None, "".join(self.lines)
            assert time.monotonic() < deadline, f"no {fragment!r} in: {''.join(self.lines)}"
            time.sleep(0.2)


def test_emit_and_dead_letters_find_the_broker_up_recorded(tmp_path):
    up = _Up(tmp_path)
    try:
        up.wait_for("running;")
        record = json.loads((tmp_path / ".fairsplit" / "broker.json").read_text())
        assert record["pid"] == up.process.pid and record["bootstrap"].startswith("127.0.0.1:")
        events = tmp_path / "bad.jsonl"
        events.write_text('{"event_id": "0b7e8a52-4a4e-4b8e-9d61-0d7f3c1b2a11", "schema": "nope"}\n')
        emitted = _cli(tmp_path, "emit", str(events))
        assert emitted.returncode == 0 and "1 events published" in emitted.stdout, emitted.stderr
        up.wait_for("event 0b7e8a52-4a4e-4b8e-9d61-0d7f3c1b2a11 rejected by the attribution-worker")
        letters = _cli(tmp_path, "dead-letters", "--topic", "--json")
        assert letters.returncode == 0, letters.stderr
        assert [json.loads(line)["event_id"] for line in letters.stdout.splitlines()] == [
            "0b7e8a52-4a4e-4b8e-9d61-0d7f3c1b2a11"]
        status = _cli(tmp_path, "status", "--json")
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout)
        assert report["up"]["pid"] == up.process.pid and report["broker"]["reachable"] is True
        assert set(report["services"]) == {"attribution", "ledger"}
        assert all(service["running"] for service in report["services"].values())
        assert report["broker"]["dead_letters"]["generation.events.dlq"] == 1
        assert {p["topic"] for p in report["broker"]["lag"]} == {"generation.events", "attribution.results"}
        assert report["ledger"]["ready"] is True
    finally:
        os.killpg(up.process.pid, signal.SIGINT)
        up.process.wait(timeout=120)
    assert not (tmp_path / ".fairsplit" / "broker.json").exists()
    stale = _cli(tmp_path, "emit", str(events))
    assert stale.returncode == 2 and "no Kafka bootstrap server" in stale.stderr


def test_sigint_to_ups_group_outside_a_terminal_stops_it_cleanly(tmp_path):
    up = _Up(tmp_path)
    up.wait_for("running;")
    os.killpg(up.process.pid, signal.SIGINT)
    assert up.process.wait(timeout=120) == 0, "".join(up.lines)
    output = "".join(up.lines)
    assert "stopped." in output and "exited with code" not in output and "Traceback" not in output
