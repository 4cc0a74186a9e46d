"""The per-event budget and the decoded-pixel limit (issue 19 item 11): oversized work and
picture bombs are refused with one sentence before any of it is rendered or decoded."""

from __future__ import annotations

import base64
import io
import json
import time
import tracemalloc

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image
from typer.testing import CliRunner

from cli import app
from fairsplit.budget import MAX_EVENT_WORK, BudgetError, check_event_budget, check_png_budget, coalition_renders
from services.admission import Gate
from services.routes import parse_routes
from services.stream import Rejected
from services.signing import sign_event
from tests.services.support import EXAMPLE_EVENT

PLATFORM_KEY = Ed25519PrivateKey.generate()


def _gate() -> Gate:
    return Gate(lambda _: [PLATFORM_KEY.public_key()], lambda ids: set(ids), parse_routes(None))


def _event(**changes) -> dict:
    return sign_event({**EXAMPLE_EVENT, "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **changes},
                      PLATFORM_KEY)


def _png(width: int, height: int) -> bytes:
    """A 1-bit PNG of a blank canvas: a few KB that decode to width × height RGB pixels."""
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def test_an_event_asking_for_more_work_than_the_budget_is_refused_at_admission():
    assert _gate().admit(_event()).event.params.steps == 25  # 512×512, 25 steps, one artist: well inside
    huge = _event(params={"steps": 200, "guidance": 7.5, "width": 2048, "height": 2048})
    with pytest.raises(Rejected) as refused:
        _gate().admit(huge)
    assert refused.value.kind == "budget"  # dead-lettered with this sentence, never rendered
    assert str(refused.value) == (
        f"event {huge['event_id']}: the event asks for 2048×2048 pixels × 200 steps × 2 coalition renders = "
        f"1,677,721,600 units of work, more than this worker's budget of {MAX_EVENT_WORK:,} per event.")


def test_the_budget_counts_coalitions():
    assert [coalition_renders(n) for n in (0, 1, 3, 7, 16)] == [1, 2, 8, 128, 258]
    check_event_budget(512, 512, 50, 5)  # the documented default: 512×512, 50 steps, 5 artists
    with pytest.raises(BudgetError, match="64 coalition renders"):
        check_event_budget(512, 512, 50, 6)


def test_a_small_event_carrying_a_huge_png_is_refused_before_it_is_decoded():
    png = _png(9400, 9400)
    event = _event(image={"png_base64": base64.b64encode(png).decode()})
    assert len(json.dumps(event)) < 20_000  # the whole event is a few KB …
    tracemalloc.start()
    try:
        with pytest.raises(Rejected) as refused:
            _gate().admit(event)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.kind == "budget" and "is 9400×9400 pixels, more than the 16,777,216 pixels" in str(refused.value)
    assert peak < 5 << 20  # … and stays so: its 88 million pixels were never decoded


@pytest.mark.parametrize("data, reason", [(b"GIF89a" + bytes(40), "not a PNG"), (_png(1, 1)[:20], "not a PNG")])
def test_what_is_not_a_png_is_refused_by_its_header(data, reason):
    with pytest.raises(BudgetError, match=reason):
        check_png_budget(data)


def test_artists_add_with_a_huge_gallery_picture_is_one_sentence(sqlite_url, tmp_path):
    gallery = tmp_path / "gallery"
    gallery.mkdir()
    (gallery / "huge.png").write_bytes(_png(20000, 20000))
    runner = CliRunner()
    base = ["--database-url", sqlite_url, "--key-dir", str(tmp_path / "keys")]
    assert runner.invoke(app, [*base, "init"]).exit_code == 0
    result = runner.invoke(app, [*base, "artists", "add", "giant", "--name", "G", "--gallery", str(gallery),
                                 "--profile", "tiny"])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == ("error: image huge.png decodes to more than the 16,777,216 pixels a picture "
                                     "may have here.")
    assert "giant" not in runner.invoke(app, [*base, "artists", "list", "--json"]).stdout


def test_operators_set_the_budget_with_one_variable():
    from commands.settings import SettingsError, read_settings

    assert read_settings({}).max_event_work == MAX_EVENT_WORK
    settings = read_settings({"FAIRSPLIT_MAX_EVENT_WORK": str(512 * 512 * 25 * 2 - 1)})
    gate = Gate(lambda _: [PLATFORM_KEY.public_key()], lambda ids: set(ids), parse_routes(None),
                max_event_work=settings.max_event_work)
    with pytest.raises(Rejected, match="more than this worker's budget of 13,107,199 per event"):
        gate.admit(_event())  # 512×512 × 25 steps × 2 renders is one unit too much now
    with pytest.raises(SettingsError, match="FAIRSPLIT_MAX_EVENT_WORK"):
        read_settings({"FAIRSPLIT_MAX_EVENT_WORK": "lots"})
