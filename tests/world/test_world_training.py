"""The world's models: the committed weights are the ones the manifest names, within the
size budget, and the training script is deterministic (a short run twice, same bytes)."""

from __future__ import annotations

import json

import pytest

from fairsplit.world.train import DEFAULT_OUT, sha256, train


def test_the_committed_weights_match_their_manifest_and_fit_the_budget():
    manifest = json.loads((DEFAULT_OUT / "world.json").read_text())
    files = sorted(p for p in DEFAULT_OUT.rglob("*.safetensors"))
    assert {str(p.relative_to(DEFAULT_OUT)) for p in files} == set(manifest["weights"])
    for path in files:
        assert sha256(path) == manifest["weights"][str(path.relative_to(DEFAULT_OUT))]
    assert sum(p.stat().st_size for p in DEFAULT_OUT.rglob("*") if p.is_file()) <= 20 * 2**20
    assert manifest["train_seconds"] <= 20 * 60


@pytest.mark.slow
def test_training_is_deterministic_for_a_seed(tmp_path):
    """Two optimiser steps of each part (the second one reads the state the first left)."""
    steps = dict(vae_steps=2, generator_steps=2, clip_steps=2, samples=64, log=lambda _: None)
    first = train(tmp_path / "a" / "model", seed=3, **steps)
    second = train(tmp_path / "b" / "model", seed=3, **steps)
    assert first["weights"] == second["weights"]
    assert first["world"] == second["world"] == "fairsplit-world-v4-seed3"
