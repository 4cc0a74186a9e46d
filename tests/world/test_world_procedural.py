"""The procedural world: deterministic, distinct styles, and the `world describe` / `world
gallery` commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from fairsplit import world
from tests.world.support import cli


def test_the_same_seed_draws_the_same_image_and_another_seed_another():
    for content in world.CONTENTS:
        a = world.render(content, ["aster"], 3)
        assert np.array_equal(a, world.render(content, ["aster"], 3))
        assert not np.array_equal(a, world.render(content, ["aster"], 4))
        assert a.shape == (world.SIZE, world.SIZE, 3) and a.dtype == np.uint8


def test_known_and_unknown_artists_are_disjoint_and_unknown_names_do_not_change_the_truth():
    assert not set(world.KNOWN) & set(world.UNKNOWN)
    assert np.array_equal(world.render("circle", ["glacier"], 1), world.render("circle", [], 1))
    assert not np.array_equal(world.render("circle", ["aster"], 1), world.render("circle", [], 1))


def test_each_artist_has_a_palette_of_its_own():
    palettes = {a: np.array([s.background, s.foreground], float) for a, s in world.ARTISTS.items()}
    names = list(palettes)
    gaps = [np.abs(palettes[a] - palettes[b]).max() for i, a in enumerate(names) for b in names[i + 1:]]
    assert min(gaps) > 40


def test_describe_lists_contents_known_and_unknown_artists():
    done = cli("world", "describe", "--json")
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)
    assert facts["contents"] == list(world.CONTENTS)
    assert facts["known_artists"] == list(world.KNOWN) and facts["unknown_artists"] == list(world.UNKNOWN)


def test_gallery_writes_the_works_of_the_procedural_style(tmp_path):
    out = tmp_path / "heron"
    done = cli("world", "gallery", "heron", "--out", str(out), "--count", "3")
    assert done.returncode == 0, done.stderr
    files = sorted(out.glob("*.png"))
    assert len(files) == 3
    assert np.array_equal(np.asarray(Image.open(files[0])), world.works("heron", 3)[0])


@pytest.mark.parametrize("artist, prepare, fragment", [
    ("zed", lambda p: None, "is not an artist of the world"),
    ("aster", lambda p: (p.mkdir(), (p / "x.png").write_bytes(b"x")), "is not an empty folder"),
])
def test_gallery_refuses_in_one_sentence(tmp_path, artist, prepare, fragment):
    out = tmp_path / "works"
    prepare(out)
    done = cli("world", "gallery", artist, "--out", str(out))
    assert done.returncode == 2
    assert fragment in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
