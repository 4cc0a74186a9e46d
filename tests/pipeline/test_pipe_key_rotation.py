"""Issue 19 item 3: rotating the ledger key while `ingest` or `serve ledger` writes leaves a ledger
that verifies — the writer picks the new key up under the chain lock and never seals a row
with the retired one."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time

import pytest
from sqlalchemy import text

from tests.pipeline.support import ROOT

pytestmark = [pytest.mark.slow]


def _key_ids_by_seq(pipeline) -> list[tuple[int, str, str]]:
    with pipeline.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text("SELECT seq, key_id, kind FROM transfers ORDER BY seq"))]


def _rotate_when_some_landed(pipeline, ids: list[str], alive) -> None:
    deadline = time.monotonic() + 300
    while pipeline.landed(ids) < 2:
        assert time.monotonic() < deadline and alive(), "the writer booked nothing"
        time.sleep(0.2)
    rotated = pipeline.cli("keys", "rotate")
    assert rotated.exit_code == 0, rotated.output
    assert pipeline.landed(ids) < len(ids), "the rotation came too late to test anything"


def _assert_verifies_across_the_rotation(pipeline) -> None:
    rows = _key_ids_by_seq(pipeline)
    rotation = [seq for seq, _, kind in rows if kind == "key"][-1]
    old, new = rows[rotation - 1][1], rows[-1][1]
    assert old != new and all(key == old for seq, key, _ in rows if seq <= rotation)
    assert all(key == new for seq, key, _ in rows if seq > rotation)  # not one row under the retired key
    assert any(seq > rotation for seq, _, kind in rows if kind == "reward")
    pipeline.cli("ledger", "checkpoint")
    verify = pipeline.cli("ledger", "verify", "--json")
    report = json.loads(verify.output)
    assert verify.exit_code == 0 and report["ok"] and report["checkpoints"]["ok"], verify.output
    assert pipeline.cli("balance", "van-gogh", "--proof", str(pipeline.workdir / "bundle.json")).exit_code == 0


def test_rotation_in_the_middle_of_a_running_ingest(sqlite_pipeline, tmp_path):
    pipeline = sqlite_pipeline
    rng = random.Random(19)
    events = [pipeline.event(rng) for _ in range(24)]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    env = {**os.environ, "FAIRSPLIT_DATABASE_URL": pipeline.database_url, "FAIRSPLIT_KEY_DIR": str(pipeline.key_dir),
           "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "cli", "ingest", str(path), "--json", "--batch-size", "2"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _rotate_when_some_landed(pipeline, [e["event_id"] for e in events], lambda: process.poll() is None)
        stdout, stderr = process.communicate(timeout=600)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr[-2000:]
    assert json.loads(stdout)["counts"] == {"recorded": 24, "duplicate": 0, "rejected": 0}
    _assert_verifies_across_the_rotation(pipeline)


@pytest.mark.kafka
def test_rotation_in_the_middle_of_a_running_serve_ledger(pipeline, kafka_bootstrap, prefix):
    from services.runners import KafkaSettings, emit

    rng = random.Random(23)
    events = [pipeline.event(rng) for _ in range(20)]
    emit(KafkaSettings(kafka_bootstrap, partitions=2, prefix=prefix), [json.dumps(e).encode() for e in events],
         [e["event_id"].encode() for e in events])
    pipeline.start("attribution", kafka_bootstrap, prefix)
    writer = pipeline.start("ledger", kafka_bootstrap, prefix)
    ids = [e["event_id"] for e in events]
    _rotate_when_some_landed(pipeline, ids, lambda: writer.poll() is None)
    assert pipeline.wait_landed(ids, timeout_s=400) == len(ids)
    assert writer.poll() is None  # it picked the new key up and went on
    pipeline.assert_paid_exactly_once(events)
    _assert_verifies_across_the_rotation(pipeline)
