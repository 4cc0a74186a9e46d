"""Issue 23 defect 8: Ctrl-C during `ingest` says what was done and how to resume; the
rerun it names finishes the file without paying anything twice."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _sigint_as_in_a_terminal() -> None:
    """Ctrl-C's default disposition, as a shell in a terminal gives its foreground job: a suite
    started in the background (`… &`) passes SIGINT on ignored, and Python then installs no
    KeyboardInterrupt handler, so the ingest would finish the file instead."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow  # a real `ingest` process attributing on the tiny models, interrupted, then rerun
def test_ctrl_c_during_ingest_says_what_was_done_and_how_to_resume(sqlite_pipeline, tmp_path):
    pipeline = sqlite_pipeline
    rng = random.Random(5)
    events = [pipeline.event(rng) for _ in range(12)]  # ~0.13 s each after the first: ~1.5 s left at line 1
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("FAIRSPLIT_")}, "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": str(ROOT), "FAIRSPLIT_DATABASE_URL": pipeline.database_url,
           "FAIRSPLIT_KEY_DIR": str(pipeline.key_dir)}
    process = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "ingest", str(path), "--batch-size", "1"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_sigint_as_in_a_terminal)
    seen: list[str] = []
    threading.Thread(target=lambda: seen.extend(process.stdout), daemon=True).start()
    deadline = time.monotonic() + 180
    while not any(line.startswith("line 1: recorded") for line in seen):
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=180) == 130
    stderr = process.stderr.read()
    assert "interrupted after " in stderr and f"run `fairsplit ingest {path}` again to resume" in stderr
    assert "Traceback" not in stderr
    rerun = pipeline.cli("ingest", str(path), "--json")
    assert rerun.exit_code == 0, rerun.output
    counts = json.loads(rerun.stdout)["counts"]
    assert counts["recorded"] + counts["duplicate"] == len(events) and counts["duplicate"] >= 1
    pipeline.assert_paid_exactly_once(events)
