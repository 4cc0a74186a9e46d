"""One style, one artist at registration: a gallery within the style distance of a
registered artist's is refused in one sentence naming that artist, unless an operator
records --allow-similar-to and --reason (issue 19 item 14, issue 22)."""

from __future__ import annotations

import pytest

from ledger.parties.registry import RegistryError, add_artist, get_artists
from ledger.parties.style_allowances import StylePolicy, cosine_distance, style_allowances

POLICY = StylePolicy(0.05)


def test_a_one_pixel_edit_of_another_artists_gallery_is_refused_naming_that_artist(env):
    assert add_artist(env.engine, "aster", "Aster", [1.0, 0.0, 0.0], 12, "clip-w", style=POLICY)
    with pytest.raises(RegistryError) as refused:
        add_artist(env.engine, "shell", "Shell Co", [0.999, 0.01, 0.0], 11, "clip-w", style=POLICY)
    message = str(refused.value)
    assert "artist:aster" in message and "--allow-similar-to aster" in message and "\n" not in message
    assert set(get_artists(env.engine)) == {"aster"} and style_allowances(env.engine) == []  # nothing written


def test_distinct_styles_and_other_embedders_register(env):
    assert add_artist(env.engine, "aster", "Aster", [1.0, 0.0, 0.0], 12, "clip-w", style=POLICY)
    assert add_artist(env.engine, "bramble", "Bramble", [0.0, 1.0, 0.0], 12, "clip-w", style=POLICY)
    assert add_artist(env.engine, "other-space", "Other", [1.0, 0.0, 0.0001], 12, "clip-x", style=POLICY)
    assert add_artist(env.engine, "no-check", "No check", [1.0, 0.0, 0.001], 12, "clip-w", style=StylePolicy(0.0))


def test_an_operator_may_allow_a_similar_style_and_the_reason_is_recorded(env):
    add_artist(env.engine, "aster", "Aster", [1.0, 0.0, 0.0], 12, "clip-w", style=POLICY)
    allowed = StylePolicy(0.05, "aster", "  her daughter, who paints in her manner  ")
    assert add_artist(env.engine, "aster-jr", "Aster Jr", [0.99, 0.05, 0.0], 4, "clip-w", style=allowed)
    [row] = style_allowances(env.engine)
    assert (row["artist_id"], row["similar_to"], row["reason"]) == ("aster-jr", "aster", "her daughter, who paints in her manner")
    assert row["distance"] == pytest.approx(cosine_distance([1.0, 0.0, 0.0], [0.99, 0.05, 0.0]), abs=1e-6)
    assert row["threshold"] == 0.05


def test_an_allowance_must_name_the_close_artist_and_come_with_a_reason(env):
    add_artist(env.engine, "aster", "Aster", [1.0, 0.0, 0.0], 12, "clip-w", style=POLICY)
    add_artist(env.engine, "bramble", "Bramble", [0.0, 1.0, 0.0], 12, "clip-w", style=POLICY)
    with pytest.raises(RegistryError, match="style of artist:aster"):
        add_artist(env.engine, "shell", "Shell", [1.0, 0.001, 0.0], 12, "clip-w", style=StylePolicy(0.05, "bramble", "r"))
    with pytest.raises(RegistryError, match="not within the style distance of artist:bramble"):
        add_artist(env.engine, "far", "Far", [0.0, 0.0, 1.0], 12, "clip-w", style=StylePolicy(0.05, "bramble", "r"))
    with pytest.raises(ValueError, match="go together"):
        StylePolicy(0.05, "aster")
    with pytest.raises(ValueError, match="registered artist's id"):
        StylePolicy(0.05, "\x1b[2Jaster", "r")
    assert set(get_artists(env.engine)) == {"aster", "bramble"} and style_allowances(env.engine) == []
