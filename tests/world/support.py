"""Shared helpers of the world tests: the CLI in a subprocess, and the world's models
loaded once per session on one thread (`world_models`)."""

from __future__ import annotations

import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


@lru_cache(maxsize=1)
def world_models():
    """The world profile, its renderer and every artist's gallery (loaded once)."""
    import torch

    from fairsplit.profiles import load_profile
    from fairsplit.render import Renderer
    from fairsplit.sources import ModelSources
    from fairsplit.world.cases import world_galleries

    torch.set_num_threads(1)  # the suite runs a worker per core and one more: more threads only contend
    models = load_profile("world", ModelSources(device="cpu"))
    return models, Renderer(models), world_galleries(models)
