"""Issue 23 defect 8 (second half): `attribute` and `explain` say what they are doing from
the first second (on stderr; stdout stays the result), instead of 20 s to minutes of silence."""

from __future__ import annotations

import json
import random

from typer.testing import CliRunner

from cli import app


def test_attribute_shows_its_steps_and_keeps_stdout_for_the_result(tmp_path):
    """(With --json and no terminal, the steps are not shown: a program reads the JSON.)"""
    result = CliRunner().invoke(app, ["attribute", "--content", "a harbour at dawn", "--style", "van-gogh=by Van Gogh",
                                      "--profile", "tiny"], env={"HF_HUB_OFFLINE": "1"})
    assert result.exit_code == 0, result.output
    assert "artist:van-gogh" in result.stdout and "loading the" not in result.stdout
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


def test_attribute_says_when_a_gallery_is_a_stand_in_and_why_shares_change_once_registered(tmp_path):
    """Issue 23 defect 13: the split of an unregistered artist uses a synthesized reference;
    the output says so, and that registering the artist's works changes the shares."""
    result = CliRunner().invoke(app, ["--database-url", f"sqlite:///{tmp_path / 'none.db'}", "attribute", "--content",
                                      "a harbour at dawn", "--style", "aster=in the style of Aster", "--profile", "tiny"],
                                env={"HF_HUB_OFFLINE": "1"})
    assert result.exit_code == 0, result.output
    flat = " ".join(result.stdout.split())
    assert "artist:aster has no registered gallery: the reference was synthesized from the style phrase" in flat
    assert "the shares change" in flat and "synthesized" in flat
