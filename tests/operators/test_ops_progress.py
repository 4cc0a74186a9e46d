"""Issue 23 defect 8 (second half): `attribute` and `explain` say what they are doing from
the first second (on stderr; stdout stays the result), instead of 20 s to minutes of silence."""

from __future__ import annotations

import json
import random

from typer.testing import CliRunner

from cli import app


def test_attribute_shows_its_steps_and_keeps_stdout_for_the_result(tmp_path):
    result = CliRunner().invoke(app, ["attribute", "--content", "a harbour at dawn", "--style", "van-gogh=by Van Gogh",
                                      "--profile", "tiny", "--json"], env={"HF_HUB_OFFLINE": "1"})
    assert result.exit_code == 0, result.output
    assert "artist:van-gogh" in json.loads(result.stdout)["shares"]
    steps = result.stderr
    assert "loading the tiny models:" in steps and "embedding the galleries of 1 artists:" in steps
    assert "rendering and scoring the coalitions of 1 artists and the model:" in steps


def test_explain_shows_its_steps(sqlite_pipeline, tmp_path):
    pipeline = sqlite_pipeline
    event = pipeline.event(random.Random(8))
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(event) + "\n")
    assert pipeline.cli("ingest", str(events)).exit_code == 0
    result = pipeline.cli("explain", event["event_id"], "--out", str(tmp_path / "why.png"))
    assert result.exit_code == 0, result.output
    assert "loading the tiny models" in result.stderr and "re-rendering the coalitions of" in result.stderr
    assert "drawing the picture" in result.stderr and (tmp_path / "why.png").exists()
