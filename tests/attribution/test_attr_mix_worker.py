"""Image mixing through the event contract and the worker (tiny profile): a style may carry
`mix` (a registered work id or a base64 PNG, and a weight); the worker attributes it, signs
it, and refuses an event whose work cannot be had in one sentence."""

from __future__ import annotations

import base64
import random

import pytest

from fairsplit.attribute import AttributionConfig
from services.contracts import ContractError, parse_event, parse_result
from services.demo import sample_event
from services.signing import sign_event
from tests.attribution.mixing_support import flat_png


def mixed_event(rng: random.Random, mixes: dict) -> dict:
    body = sample_event(rng, "acme")
    body["styles"] = [{"artist_id": artist, "mix": mix} for artist, mix in mixes.items()]
    body["prompt"] = body["content"]
    return body


REGISTERED = {("hokusai", 0): flat_png(7)}


def test_a_mixed_event_is_attributed_signed_and_carries_its_works(tiny, worker_parts):
    gate, platform, attributor = worker_parts
    attributor.works = lambda artist, n: REGISTERED.get((artist, n))
    attributor.config = AttributionConfig(tau=-1.0)  # the tiny galleries are random: keep every artist in the game
    rng = random.Random(5)
    inline = {"png_base64": base64.b64encode(flat_png(1)).decode(), "weight": 0.75}
    bodies = [mixed_event(rng, {"van-gogh": inline, "hokusai": {"work_id": "hokusai/0"}}),
              mixed_event(rng, {"hokusai": {"work_id": "hokusai/3"}})]
    batch = [gate.admit(sign_event(body, platform)) for body in bodies]
    computed = attributor.compute(batch)
    assert isinstance(computed[1], ValueError)
    assert str(computed[1]) == "the event mixes work hokusai/3, which is not registered"
    result = computed[0]
    assert set(result.shares) == {"model:tiny-sd", "artist:van-gogh", "artist:hokusai"}
    assert abs(sum(result.shares.values()) - 1) < 1e-12
    assert len(result.coalitions) == 8  # every subset of the two works, with and without the model
    record = attributor.finish(batch[0], result)
    assert parse_result(record).shares == result.shares
    assert record["event"]["styles"][0]["mix"] == inline  # the signed event, works and all, for statements


def test_the_same_work_by_id_or_inline_gives_the_same_split(tiny, worker_parts):
    gate, platform, attributor = worker_parts
    attributor.works = lambda artist, n: REGISTERED.get((artist, n))
    by_id = mixed_event(random.Random(9), {"hokusai": {"work_id": "hokusai/0"}})
    inline = dict(by_id, styles=[{"artist_id": "hokusai",
                                  "mix": {"png_base64": base64.b64encode(REGISTERED["hokusai", 0]).decode()}}])
    # one event per call: the same renders, not the same renders at other places in a batch (a
    # batch's float sums may differ in the last bits, 3e-9 of a share, seen on 2026-12-07)
    results = [attributor.compute([gate.admit(sign_event(b, platform))])[0] for b in (by_id, inline)]
    assert results[0].shares == results[1].shares


@pytest.mark.parametrize("mix, message", [
    ({}, "a mixed work is a work_id or a png_base64, not both or neither"),
    ({"work_id": "hokusai/0", "png_base64": base64.b64encode(flat_png(1)).decode()}, "not both or neither"),
    ({"work_id": "klimt/0"}, "a mixed work_id must name one of the artist's own works"),
    ({"work_id": "hokusai/0", "weight": 0.0}, "weight: Input should be greater than 0"),
    ({"work_id": "hokusai/0", "weight": 4.5}, "weight: Input should be less than or equal to 4"),
    ({"png_base64": base64.b64encode(b"GIF89a").decode()}, "mixed work is not a PNG"),
    ({"png_base64": "not base64!"}, "mixed work is not valid base64"),
    ({"work_id": "Hokusai/0"}, "work_id: String should match pattern"),
])
def test_a_bad_mix_is_refused_by_the_contract_in_one_sentence(mix, message):
    body = mixed_event(random.Random(1), {"hokusai": mix})
    with pytest.raises(ContractError, match=message.replace("(", r"\(")):
        parse_event(body)
