"""Attribution tests: tiny random models in the session's cache, few torch threads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fairsplit.request import Gallery

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny(model_sources):
    from fairsplit.profiles import load_profile

    return load_profile("tiny", model_sources)


@pytest.fixture
def worker_parts(tiny, tmp_path):
    """An admission gate for one platform key, that key, and a worker attributing on `tiny`."""
    from ledger.crypto import generate_private_key, write_private_key
    from services.admission import Gate
    from services.attribution_worker import Attributor, load_worker_key, worker_key_path

    platform = generate_private_key()
    gate = Gate(lambda _: [platform.public_key()], lambda ids: set(ids), {"tiny-sd": "tiny"})
    rng = np.random.default_rng(0)
    vectors = {a: rng.standard_normal(32) for a in ("van-gogh", "hokusai", "klimt")}
    lookup = lambda ids: {a: Gallery((v / np.linalg.norm(v)).astype(np.float32), 2, tiny.embedder.id)  # noqa: E731
                          for a, v in vectors.items() if a in ids}
    write_private_key(worker_key_path(tmp_path / "keys"), generate_private_key())
    return gate, platform, Attributor(lookup, load_worker_key(tmp_path / "keys"), load=lambda profile: tiny)
