"""`fairsplit attribute --mix` on the tiny profile: works as PNG files or registered work ids,
weights, and every mistake one sentence with exit code 2. Everything runs in this process
(typer's runner) on the session's tiny models: a mix loads the IP-Adapter through the
profile's runtime, which unloads it for the next render that mixes nothing. That a mistake
is refused before torch is imported is checked in a real process."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.attribution.mixing_support import flat_png

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


def run(args: list[str], database_url: str = "sqlite:////nonexistent/ledger.db") -> Done:
    """`fairsplit attribute --profile tiny ARGS` in this process."""
    from typer.testing import CliRunner

    from cli import app

    result = CliRunner().invoke(app, ["attribute", "--profile", "tiny", *args],
                                env={"FAIRSPLIT_DATABASE_URL": database_url, "HF_HUB_OFFLINE": "1"})
    return Done(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def works(tmp_path) -> dict[str, Path]:
    paths = {}
    for seed, name in enumerate(("ann", "bob")):
        paths[name] = tmp_path / f"{name}.png"
        paths[name].write_bytes(flat_png(seed + 1))
    return paths


def test_a_mix_of_two_works_is_split_and_the_weight_counts(works):
    args = ["--content", "a cat", "--mix", f"ann={works['ann']}", "--mix", f"bob={works['bob']}@0.5",
            "--seed", "3", "--tau", "-1", "--json"]
    first = run(args)
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert set(result["shares"]) == {"model:tiny-sd", "artist:ann", "artist:bob"}
    assert abs(math.fsum(result["shares"].values()) - 1) < 1e-12
    assert [p["gallery_source"] for p in result["players"][1:]] == ["work", "work"]
    assert len(result["coalitions"]) == 8
    again = run(args)
    assert again.stdout == first.stdout
    full = run([a.replace("@0.5", "") for a in args])
    assert json.loads(full.stdout)["shares"] != result["shares"]


def test_a_registered_work_is_read_from_the_ledger(works, migrated_sqlite_url):
    from ledger.books.db import make_engine
    from ledger.parties.registry import add_artist

    engine = make_engine(migrated_sqlite_url)
    add_artist(engine, "ann", "Ann", [1.0, 0.0], 1, "some-clip", thumbnails=[flat_png(9), works["ann"].read_bytes()])
    engine.dispose()
    by_id = run(["--content", "a cat", "--mix", "ann=ann/1", "--seed", "3", "--json"],
                migrated_sqlite_url)
    by_file = run(["--content", "a cat", "--mix", f"ann={works['ann']}", "--seed", "3", "--json"],
                  migrated_sqlite_url)
    assert by_id.returncode == 0, by_id.stderr
    assert json.loads(by_id.stdout)["shares"] == json.loads(by_file.stdout)["shares"]
    missing = run(["--content", "a cat", "--mix", "ann=ann/2"], migrated_sqlite_url)
    assert missing.returncode == 2 and "'ann' has no registered work 2" in missing.stderr


@pytest.mark.parametrize("mix, message", [
    ("ann=bob/0", "names a work of 'bob'; an artist mixes only their own works"),
    ("ann=ann/0", "the ledger database cannot be read; give the work as a PNG file instead"),
    ("ann={ann}@0", "the weight of ann's work must be a number above 0 and at most 4"),
    ("ann={ann}@5", "the weight of ann's work must be a number above 0 and at most 4"),
    ("ann={ann}@0_5", "the weight of ann's work must be a plain decimal such as 0.5, got '0_5'"),
    ("ann={ann}@\u0661", "the weight of ann's work must be a plain decimal such as 0.5"),
    ("ann={ann}@1e999", "the weight of ann's work must be a plain decimal such as 0.5"),
    ("ann={not_png}", "the work of ann is not a PNG"),
    ("ann=/nonexistent.png", "does not exist"),
    ("ann", "--mix must look like ARTIST_ID=VALUE"),
])
def test_every_mistake_is_one_sentence_and_exit_2(tmp_path, works, mix, message):
    not_png = tmp_path / "x.png"
    not_png.write_bytes(b"GIF89a" + bytes(64))
    done = run(["--content", "a cat", "--mix", mix.format(ann=works["ann"], not_png=not_png)])
    assert done.returncode == 2
    assert message in " ".join(done.stderr.split()) and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_mistake_is_answered_before_the_model_stack_loads(tmp_path):
    """A bad --mix is refused before torch is imported (a second, not the model stack's five)."""
    code = ("import sys\nfrom cli import main\nsys.argv = ['fairsplit', 'attribute', '--content', 'a cat', '--mix', 'ann']\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    print(exc.code, 'torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "FAIRSPLIT_MODEL_CACHE": str(tmp_path)})
    assert done.stdout.split() == ["2", "False"], done.stdout + done.stderr
