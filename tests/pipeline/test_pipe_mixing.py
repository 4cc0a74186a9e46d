"""A mixed event (image mixing) through `sign`, `ingest` and `explain`: the signed event
carries its works, the worker attributes it on tiny, the ledger records it like any other
event, and the explain picture shows the works in the mix."""

from __future__ import annotations

import base64
import io
import json
import random

import numpy as np
from PIL import Image

from ledger.crypto import write_private_key
from tests.pipeline.support import PLATFORM


def _png() -> str:
    pixels = np.full((32, 32, 3), (200, 40, 90), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_a_mixed_event_is_signed_ingested_and_booked(sqlite_pipeline, tmp_path):
    pipeline = sqlite_pipeline
    key = write_private_key(tmp_path / "acme.pem", pipeline.platform_key)
    event = {k: v for k, v in pipeline.event(random.Random(8)).items() if k != "signature"}
    event["styles"] = [{"artist_id": "van-gogh", "mix": {"work_id": "van-gogh/0"}},
                       {"artist_id": "hokusai", "mix": {"png_base64": _png(), "weight": 0.5}}]
    (tmp_path / "events.jsonl").write_text(json.dumps(event) + "\n")
    signed = tmp_path / "signed.jsonl"
    done = pipeline.cli("sign", str(tmp_path / "events.jsonl"), "--platform", PLATFORM, "--key", str(key),
                        "--out", str(signed))
    assert done.exit_code == 0, done.output
    assert json.loads(signed.read_text())["styles"] == event["styles"]

    report = json.loads(pipeline.cli("ingest", str(signed), "--json").stdout)
    assert [line["status"] for line in report["lines"]] == ["recorded"], report
    explained = pipeline.cli("explain", event["event_id"], "--out", str(tmp_path / "why.png"), "--json")
    assert explained.exit_code == 0, explained.output
    picture = json.loads(explained.stdout)
    assert picture["works"] == 2 + 2 * 2  # the two mixed works, then each artist's two registered thumbnails
    assert set(picture["shares"]) == {"model:tiny-sd", "artist:van-gogh", "artist:hokusai"}
    assert abs(sum(picture["shares"].values()) - 1) < 1e-9
