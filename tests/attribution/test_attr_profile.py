"""Immutable profiles: every per-profile fact in one frozen `Profile`; a loaded profile's
changing state only in its `Runtime`; a LoRA event leaves the shared pipeline as it was."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from fairsplit import recognition, values
from fairsplit.profile import FACTS, PROFILES, Profile, facts
from fairsplit.profiles import make_tiny_lora
from fairsplit.render import Renderer, RenderJob, adapter_name


def test_every_profile_fact_has_one_definition_and_cannot_change():
    assert PROFILES == ("sd15", "tiny", "world")
    for name, spec in FACTS.items():
        assert recognition.default_tau(name) == spec.tau
        assert values.default_correction(name) == spec.value_correction
    assert not hasattr(recognition, "PROFILE_TAU") and not hasattr(values, "PROFILE_CORRECTION")
    with pytest.raises(dataclasses.FrozenInstanceError):
        FACTS["world"].tau = 0.0
    with pytest.raises(ValueError, match="unknown profile 'sd21'"):
        facts("sd21")
    with pytest.raises(ValueError, match="cosine distance"):
        dataclasses.replace(FACTS["sd15"], style_distance=3.0)
    with pytest.raises(ValueError, match="gate width"):
        dataclasses.replace(FACTS["sd15"], gate_width=-0.1)
    assert all(spec.gate_width == 0.0 for spec in FACTS.values())  # the hard test: the soft gate is opt-in
    assert isinstance(FACTS["tiny"], Profile) and FACTS["tiny"].test_model and not FACTS["sd15"].test_model


def test_a_loaded_profile_names_its_models_and_cannot_be_changed_from_outside(tiny):
    assert tiny.spec.name == tiny.profile == "tiny"
    assert tiny.embedder.id == "fairsplit/tiny-random-clip.test-model" and tiny.default_params == FACTS["tiny"].default_params
    with pytest.raises(dataclasses.FrozenInstanceError):
        tiny.spec = FACTS["sd15"]
    with pytest.raises(AttributeError):
        tiny.accelerator = None  # the runtime's state is read-only from the models


def test_a_lora_event_leaves_the_shared_pipeline_as_it_was(tiny, tmp_path, model_sources):
    lora = str(make_tiny_lora(tmp_path / "lora", model_sources.cache_dir))
    plain = RenderJob("an image of a man", 5, tiny.default_params)
    before = Renderer(tiny).render_pixels([plain])[0]
    styled = RenderJob("an image of a man", 5, tiny.default_params, ((adapter_name("van-gogh"), lora),))
    with_lora = Renderer(tiny).render_pixels([styled])[0]
    assert tiny.adapters == {adapter_name("van-gogh"): lora}
    after = Renderer(tiny).render_pixels([plain])[0]  # a fresh renderer: no cached pure render
    assert tiny.adapters == {}  # unloaded once a render needs no adapter
    assert not torch.equal(before, with_lora)
    assert torch.equal(before, after)
