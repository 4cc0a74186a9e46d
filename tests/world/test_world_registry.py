"""`artists add` on the world: other works of a registered artist (a shell company, or a
one-pixel edit of their works) are refused in one sentence naming that artist, unless an
operator records --allow-similar-to and --reason (issue 19 item 14, issue 22)."""

from __future__ import annotations

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from cli import app


def test_a_shell_company_or_a_one_pixel_edit_is_refused_unless_an_operator_allows_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"

    def run(*args):
        return CliRunner().invoke(app, ["--database-url", url, "--key-dir", str(tmp_path / "keys"), *args])

    assert run("init").exit_code == 0
    folders = {}
    for name, seed, count in (("aster", 0, 12), ("aster-shell", 9200, 6), ("bramble", 0, 12)):
        folders[name] = tmp_path / name
        assert run("world", "gallery", name.split("-")[0], "--out", str(folders[name]), "--seed", str(seed),
                   "--count", str(count)).exit_code == 0
    edited = tmp_path / "aster-edit"
    edited.mkdir()
    for path in sorted(folders["aster"].iterdir()):
        pixels = np.asarray(Image.open(path)).copy()
        pixels[0, 0] ^= 1  # one pixel changed: no longer an exact copy
        Image.fromarray(pixels).save(edited / path.name)

    def add(artist_id, folder, *more):
        return run("artists", "add", artist_id, "--name", artist_id, "--gallery", str(folder), "--profile", "world", *more)

    assert add("aster", folders["aster"]).exit_code == 0
    assert add("bramble", folders["bramble"]).exit_code == 0  # a distinct style registers
    for shell, folder in (("aster-shell", folders["aster-shell"]), ("aster-edit", edited)):
        refused = add(shell, folder)
        assert refused.exit_code == 2, refused.output
        assert "in the style of artist:aster" in refused.output and "Traceback" not in refused.output
    listed = run("artists", "list", "--json").output
    assert "aster-shell" not in listed and "aster-edit" not in listed  # nothing written
    allowed = add("aster-shell", folders["aster-shell"], "--allow-similar-to", "aster", "--reason", "a studio, audited")
    assert allowed.exit_code == 0, allowed.output
    from ledger.books.db import make_engine
    from ledger.parties.style_allowances import style_allowances

    [row] = style_allowances(make_engine(url))
    assert (row["artist_id"], row["similar_to"], row["reason"]) == ("aster-shell", "aster", "a studio, audited")
