"""Attribution tests: tiny random models in a per-session cache, few torch threads."""

from __future__ import annotations

import os

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("models"))
    os.environ["FAIRSPLIT_MODEL_CACHE"] = path
    os.environ["HF_HUB_OFFLINE"] = "1"
    return path


@pytest.fixture(scope="session")
def tiny(model_cache):
    from fairsplit.profiles import load_profile

    return load_profile("tiny")
