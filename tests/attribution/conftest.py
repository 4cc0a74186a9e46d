"""Attribution tests: tiny random models in the session's cache, few torch threads."""

from __future__ import annotations

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny(model_sources):
    from fairsplit.profiles import load_profile

    return load_profile("tiny", model_sources)
