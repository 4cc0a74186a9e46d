"""Issue 23 defect 12: `sign` names every line it would refuse (not only the first) and
writes nothing; an unregistered artist comes with the registered names closest to it, in
`sign` as in `balance`."""

from __future__ import annotations

import json
import random

from ledger.crypto import write_private_key
from tests.pipeline.support import PLATFORM


def test_sign_names_every_refused_line_with_suggestions(sqlite_pipeline, tmp_path):
    pipeline = sqlite_pipeline
    key = write_private_key(tmp_path / "acme.pem", pipeline.platform_key)
    rng = random.Random(4)
    good = {k: v for k, v in pipeline.event(rng).items() if k != "signature"}
    typo = {**good, "styles": [{"artist_id": "van-gogg", "phrase": "by Van Gogh"}], "prompt": "x, by Van Gogh"}
    negative = {**good, "reward": {"amount": "-1.00", "currency": "USD"}}
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in [good, typo, negative]))
    out = tmp_path / "signed.jsonl"
    refused = pipeline.cli("sign", str(tmp_path / "events.jsonl"), "--platform", PLATFORM, "--key", str(key),
                           "--out", str(out))
    assert refused.exit_code == 2 and not out.exists()
    assert "line 2: artist not registered: van-gogg (did you mean artist:van-gogh?)." in refused.output
    assert "line 3: " in refused.output and "negative" in refused.output
    assert "2 of 3 events would be refused" in refused.output and "line 1" not in refused.output


def test_balance_of_a_misspelt_artist_suggests_the_registered_one(sqlite_pipeline):
    result = sqlite_pipeline.cli("balance", "van-gog")
    assert result.exit_code == 2
    assert "artist:van-gog is not registered in this ledger (did you mean artist:van-gogh?)." in result.output
