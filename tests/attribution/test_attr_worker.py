"""The worker's two stages on the tiny profile: `compute` attributes a batch and gives a
refused event its one-sentence error without failing the others; `finish` signs."""

from __future__ import annotations

import base64
import random
import struct

import numpy as np
import pytest

from services.admission import Gate
from services.attribution_worker import Attributor, load_or_create_worker_key
from services.contracts import parse_result
from services.demo import sample_event
from services.signing import generate_private_key, sign_event


@pytest.fixture
def parts(tiny, tmp_path):
    platform = generate_private_key()
    gate = Gate(lambda _: platform.public_key(), lambda ids: set(ids), {"tiny-sd": "tiny"})
    rng = np.random.default_rng(0)
    vectors = {a: rng.standard_normal(32) for a in ("van-gogh", "hokusai", "klimt")}
    lookup = lambda ids: {a: ((v / np.linalg.norm(v)).tolist(), 2, tiny.embedder.id) for a, v in vectors.items() if a in ids}  # noqa: E731
    key, _ = load_or_create_worker_key(tmp_path / "keys")
    return gate, platform, Attributor(lookup, key)


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
        assert "image_embedding" not in record["event"] and "signature" not in record["event"]
    with pytest.raises(ValueError, match="was made with openai/clip-vit-base-patch32"):
        attributor(batch)  # the one-call form (ingest) raises: the caller isolates the lines


def test_workers_started_together_agree_on_one_signing_key(tmp_path):
    import os
    import threading

    for round_ in range(5):
        folder = tmp_path / f"keys-{round_}"
        barrier, made = threading.Barrier(6), []

        def start():
            barrier.wait()
            made.append(load_or_create_worker_key(folder))

        threads = [threading.Thread(target=start) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(made) == 6 and len({key.key_id for key, _ in made}) == 1
        assert sum(created for _, created in made) == 1
        assert sorted(p.name for p in folder.iterdir()) == ["attribution-worker.pem"]  # no candidates left
        assert os.stat(folder / "attribution-worker.pem").st_mode & 0o777 == 0o600
