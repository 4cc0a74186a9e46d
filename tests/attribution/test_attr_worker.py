"""The worker's two stages on the tiny profile: `compute` attributes a batch and gives a
refused event its one-sentence error without failing the others; `finish` signs."""

from __future__ import annotations

import base64
import random
import struct

import numpy as np
import pytest

from fairsplit.request import Gallery
from ledger.crypto import generate_private_key, write_private_key
from services.admission import Gate
from services.attribution_worker import Attributor, load_worker_key, worker_key_path
from services.contracts import parse_result
from services.demo import sample_event
from services.signing import sign_event


@pytest.fixture
def parts(tiny, tmp_path):
    platform = generate_private_key()
    gate = Gate(lambda _: [platform.public_key()], lambda ids: set(ids), {"tiny-sd": "tiny"})
    rng = np.random.default_rng(0)
    vectors = {a: rng.standard_normal(32) for a in ("van-gogh", "hokusai", "klimt")}
    lookup = lambda ids: {a: Gallery((v / np.linalg.norm(v)).astype(np.float32), 2, tiny.embedder.id)  # noqa: E731
                          for a, v in vectors.items() if a in ids}
    write_private_key(worker_key_path(tmp_path / "keys"), generate_private_key())
    return gate, platform, Attributor(lookup, load_worker_key(tmp_path / "keys"), load=lambda profile: tiny)


def _embedding(model_id: str, revision: str, values) -> dict:
    data = struct.pack(f"<{len(values)}f", *values)
    return {"model": {"id": model_id, "revision": revision}, "float32_base64": base64.b64encode(data).decode()}


def test_a_refused_event_fails_alone_and_the_batch_is_attributed_and_signed(tiny, parts):
    gate, platform, attributor = parts
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
