"""A result's player may name the group player it shared (one style across several ids)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.contracts import PlayerV1


def test_a_player_names_its_group_by_an_artist_id_and_nothing_else():
    player = PlayerV1(id="aster-2", account="artist:aster-2", kind="artist", recognised=True, uplift=0.3, group="aster")
    assert player.group == "aster"
    assert PlayerV1(id="aster", account="artist:aster", kind="artist", recognised=True).group is None
    for bad in ("Aster Studio", "\x1b[31master", ""):
        with pytest.raises(ValidationError):
            PlayerV1(id="x", account="artist:x", kind="artist", recognised=True, group=bad)
