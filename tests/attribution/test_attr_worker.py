"""The worker's two stages on the tiny profile: `compute` attributes a batch and gives a
refused event its one-sentence error without failing the others; `finish` signs."""

from __future__ import annotations

import base64
import random
import struct

import pytest

from services.contracts import parse_result
from services.demo import sample_event
from services.signing import sign_event


def _embedding(model_id: str, revision: str, values) -> dict:
    data = struct.pack(f"<{len(values)}f", *values)
    return {"model": {"id": model_id, "revision": revision}, "float32_base64": base64.b64encode(data).decode()}


def test_a_refused_event_fails_alone_and_the_batch_is_attributed_and_signed(tiny, worker_parts):
    gate, platform, attributor = worker_parts
    rng = random.Random(3)
    bodies = [sample_event(rng, "acme") for _ in range(3)]
    bodies[1]["image_embedding"] = _embedding("openai/clip-vit-base-patch32", "main", [0.1] * 512)
    bodies[2]["image_embedding"] = _embedding(tiny.embedder.id, tiny.embedder.revision, [0.1] * 32)
    batch = [gate.admit(sign_event(body, platform)) for body in bodies]

    computed = attributor.compute(batch)
    assert isinstance(computed[1], ValueError)
    assert str(computed[1]).startswith("the event's image embedding was made with openai/clip-vit-base-patch32")
    assert computed[2].method.grand_image == "event-embedding" and computed[0].method.grand_image == "regenerated"
    for admitted, result in zip([batch[0], batch[2]], [computed[0], computed[2]]):
        record = attributor.finish(admitted, result)
        assert parse_result(record).event_id == admitted.event.event_id
        assert record["event"] == admitted.body  # as the platform signed it: the writer checks that signature
    with pytest.raises(ValueError, match="was made with openai/clip-vit-base-patch32"):
        attributor(batch)  # the one-call form (ingest) raises: the caller isolates the lines


def test_the_record_is_the_contracts_model_with_the_platforms_spelling_kept(tiny, worker_parts):
    """`result_record` builds `AttributionResultV1`: every field of the result, nothing that
    is None, the platform's own `occurred_at` and event, signed by the worker."""
    from services.signing import verify_event

    gate, platform, attributor = worker_parts
    body = sample_event(random.Random(5), "acme")
    body["occurred_at"] = body["occurred_at"].replace("Z", "+00:00")  # the model would write "Z"
    admitted = gate.admit(sign_event(body, platform))
    result = attributor.compute([admitted])[0]
    record = attributor.finish(admitted, result)
    verify_event(record, attributor.key.public_key)
    assert set(record) == {"schema", "event_id", "attribution_id", "platform_id", "occurred_at", "model", "content",
                           "method", "players", "values", "shares", "clamped", "reward", "event_sha256", "event",
                           "worker_key_id", "signature"}  # no std_errors: the tiny game is exact
    assert record["occurred_at"] == body["occurred_at"] and record["event"] == admitted.body
    assert record["shares"] == result.shares and record["clamped"] is result.clamped
    assert record["values"] == [{"players": list(c.members), "value": c.value} for c in result.coalitions]
    assert record["players"] == [{"id": p.id, "account": p.account, "kind": p.kind, "recognised": p.recognised,
                                  **({"uplift": p.uplift} if p.uplift is not None else {}),
                                  **({"group": p.group} if p.group else {})} for p in result.players]
    method = result.method
    assert record["method"] == {
        "estimator": method.estimator, "value_function": method.value_function, "profile": "tiny",
        "models": {"generator": {"id": tiny.generator.id, "revision": tiny.generator.revision},
                   "embedder": {"id": tiny.embedder.id, "revision": tiny.embedder.revision}},
        "tau": 0.0, "approximate": False, "test_model": True, "value_correction": "none",
        **({"budget": method.budget} if method.budget is not None else {}),
        **({"value_floor": result.floor} if result.floor is not None else {})}
    assert record["reward"] == body["reward"] and record["worker_key_id"] == attributor.key.key_id
