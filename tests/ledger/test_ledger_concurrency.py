"""Two writer processes appending at once produce one valid chain (both backends)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from ledger.books.schema import Transfer
from ledger.audit.chain import verify_ledger

WRITER = Path(__file__).with_name("ledger_writer.py")
ROOT = Path(__file__).resolve().parents[2]


def test_two_processes_never_fork_the_chain(env, tmp_path):
    start = tmp_path / "go"
    batches = 25
    environ = {**os.environ, "PYTHONPATH": str(ROOT)}
    writers = [
        subprocess.Popen([sys.executable, str(WRITER), env.url, env.key_dir, name, str(batches), str(start)],
                         env=environ, stderr=subprocess.PIPE, text=True)
        for name in ("p1", "p2")
    ]
    start.touch()
    for writer in writers:
        _, stderr = writer.communicate(timeout=120)
        assert writer.returncode == 0, stderr
    report = verify_ledger(env.engine)
    assert report.ok, report
    assert report.checked == 2 * batches * 3
    with env.engine.connect() as connection:
        events = [row.event_id for row in connection.execute(select(Transfer.event_id).order_by(Transfer.seq))]
    # every batch is contiguous (atomic), and both writers got in
    assert all(len(set(events[i : i + 3])) == 1 for i in range(0, len(events), 3))
    assert {event.split("-")[0] for event in events} == {"p1", "p2"}
