"""`fairsplit attribute --profile tiny` end to end, offline: in this process on the
session's models, and once in a real process that builds its models in a fresh cache and
must print the same JSON."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
ARTISTS = ["van-gogh=by Van Gogh", "monet=by Monet", "hokusai=by Hokusai"]


def run(args: list[str], cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "FAIRSPLIT_MODEL_CACHE": str(cache), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "attribute", "--profile", "tiny", *args],
        capture_output=True, text=True, env=env, timeout=120,
    )


def run_here(args: list[str]):
    """The same command in this process (typer's runner), on the session's model cache."""
    from typer.testing import CliRunner

    from cli import app

    return CliRunner().invoke(app, ["attribute", "--profile", "tiny", *args], env={"HF_HUB_OFFLINE": "1"})


def styles(k: int) -> list[str]:
    return [a for s in ARTISTS[:k] for a in ("--style", s)]


@pytest.fixture(scope="module")
def answers() -> dict[int, str]:
    """`--json` for 1, 2 and 3 artists, in this process."""
    out = {}
    for k in (1, 2, 3):
        done = run_here(["--content", "an image of a man", *styles(k), "--seed", "5", "--tau", "-1", "--json"])
        assert done.exit_code == 0, done.stderr
        out[k] = done.stdout
    return out


@pytest.mark.parametrize("k", [1, 2, 3])
def test_the_json_holds_every_player_and_the_shares_add_up(answers, k):
    result = json.loads(answers[k])
    assert set(result["shares"]) == {"model:tiny-sd"} | {f"artist:{a.split('=')[0]}" for a in ARTISTS[:k]}
    assert abs(math.fsum(result["shares"].values()) - 1) < 1e-12
    assert result["method"]["test_model"] is True and "timings" not in result
    assert len(result["coalitions"]) == 2 ** (k + 1)  # the model is a player too


@pytest.mark.slow  # a real process importing torch and building its models
def test_same_input_same_json_from_a_fresh_cache_in_a_new_process(tmp_path, answers):
    args = ["--content", "an image of a man", *styles(3), "--seed", "5", "--tau", "-1", "--json"]
    fresh = run(args, tmp_path / "cache")  # builds the tiny models from nothing
    assert fresh.returncode == 0, fresh.stderr
    assert fresh.stdout == answers[3]
    assert sorted(p.name for p in (tmp_path / "cache").iterdir())  # it did build them there


def test_save_images_writes_every_coalition_render(tmp_path):
    out = tmp_path / "renders"
    done = run_here(["--content", "a harbour", *styles(2), "--save-images", str(out)])
    assert done.exit_code == 0, done.stderr
    files = sorted(out.glob("*.png"))
    assert len(files) == 4  # 2^2 coalitions with the model, the grand one regenerated
    for f in files:
        with Image.open(f) as im:
            assert im.format == "PNG" and im.size == (32, 32)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--content", "x", "--style", "no-equals-sign"], "--style must look like"),
        (["--content", "x", "--style", "a=b", "--image", "/nonexistent.png"], "does not exist"),
        (["--content", "x", "--style", "a=b", "--profile", "huge"], "unknown profile"),
    ],
)
def test_bad_input_is_one_sentence_and_non_zero(tmp_path, args, message):
    done = run(args, tmp_path / "cache")
    assert done.returncode != 0
    assert message in done.stderr and "Traceback" not in done.stderr
