"""Acceleration on a CPU: bucket chunking, the memory model, the device defaults, and the
compiled path itself (fused QKV, channels_last, torch.compile, padded buckets, a compile
cache that a restarted process loads instead of recompiling) on the tiny profile."""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fairsplit.accelerate import BYTES_PER_PIXEL, MemoryModel, chunk_sizes
from fairsplit.sources import DEFAULT_BUCKETS, Acceleration
from fairsplit.request import Params

ROOT = Path(__file__).resolve().parents[2]
SD = Params()  # 512², guidance 7.5


def _cost(sizes: list[int], call_cost: float) -> float:
    return sum(call_cost + s for s in sizes)


@pytest.mark.parametrize("buckets", [DEFAULT_BUCKETS, (1, 4, 16), (8, 32)])
def test_chunks_cover_every_render_with_buckets_at_the_least_cost(buckets):
    for n in range(1, 70):
        sizes = chunk_sizes(n, buckets, 9.0)
        assert set(sizes) <= set(buckets) and sum(sizes) >= n
        assert sum(sizes) - n < max(buckets)  # never a whole call of padding
        best = min(
            _cost(list(combo), 9.0)
            for k in range(1, 5)
            for combo in itertools.combinations_with_replacement(buckets, k)
            if sum(combo) >= n
        ) if n <= 3 * max(buckets) else None
        if best is not None:
            assert math.isclose(_cost(sizes, 9.0), best)


def test_chunking_pads_when_a_call_costs_more_than_the_padding():
    assert chunk_sizes(33, DEFAULT_BUCKETS, 9.0) == [32, 1]  # padding 15 would cost more than a call
    assert chunk_sizes(40, DEFAULT_BUCKETS, 9.0) == [32, 8]
    assert chunk_sizes(60, DEFAULT_BUCKETS, 9.0) == [64]  # 4 images of padding < a second call
    assert chunk_sizes(3, DEFAULT_BUCKETS, 9.0) == [4]
    assert chunk_sizes(130, (1, 2, 4, 8, 16, 32), 9.0) == [32, 32, 32, 32, 2]
    assert chunk_sizes(0, DEFAULT_BUCKETS, 9.0) == []


def test_defaults_are_on_for_cuda_and_off_elsewhere_and_options_win():
    cuda, cpu = Acceleration().resolved(torch.device("cuda")), Acceleration().resolved(torch.device("cpu"))
    assert (cuda.compile, cuda.fuse_qkv, cuda.channels_last) == (True, True, True)
    assert (cpu.compile, cpu.fuse_qkv, cpu.channels_last) == (False, False, False)
    off = Acceleration(compile=False).resolved(torch.device("cuda"))
    assert off.compile is False and off.fuse_qkv is True
    assert Acceleration().memory_ceiling_gib == 16.0


@pytest.mark.parametrize("bad", [dict(buckets=()), dict(buckets=(4, 2)), dict(buckets=(0, 1)),
                                 dict(memory_ceiling_gib=0), dict(memory_ceiling_gib=float("nan")),
                                 dict(decode_batch=0)])
def test_bad_options_are_refused(bad):
    with pytest.raises(ValueError):
        Acceleration(**bad)


def test_memory_prior_is_the_old_cpu_budget_and_measurements_refine_it():
    budget = 2 << 30
    prior = MemoryModel(budget)
    tiny = Params(steps=4, guidance=5.0, width=32, height=32)
    assert prior.largest(tiny) == budget // (32 * 32 * BYTES_PER_PIXEL * 2)  # yesterday's batch size
    gib = 1 << 30
    model = MemoryModel(16 * gib, resident=3 * gib, safety=1.1)
    assert model.largest(SD) == 11  # the prior: 1 GiB per 512² image with guidance
    model.observe(SD, 4, 3 * gib + int(2.2 * gib))  # measured: 1.0 GiB fixed + 0.3 GiB per image
    model.observe(SD, 8, 3 * gib + int(3.4 * gib))
    assert model.predict(SD, 32) == pytest.approx(3 * gib + 1.0 * gib + 32 * 0.3 * gib, rel=1e-6)
    assert model.largest(SD) == int((13 / 1.1 - 1.0) / 0.3)  # 36
    assert model.largest(Params(width=512, height=512, guidance=1.0)) == 72  # one guidance branch: half the bytes
    model.too_big(SD, 24)
    assert model.largest(SD) == 23


@pytest.mark.slow
def test_compiled_path_renders_like_the_plain_one_and_a_restart_loads_its_compile_cache(tmp_path):
    """Two real processes: the first compiles and saves; the second loads the saved file and
    compiles no graph. The second keeps the machine's compiled kernels (a copy of the first's
    inductor folder, as a restart on the same machine would) but not its graph caches
    (`fxgraph`, `aotautograd`), so a graph cache hit can only come from the saved file."""
    cache = tmp_path / "compile-cache"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "FAIRSPLIT_MODEL_CACHE": os.environ.get("FAIRSPLIT_MODEL_CACHE", str(tmp_path / "models"))}
    runs = []
    for name, flags in (("first", []), ("restarted", ["--no-lora"])):
        if name == "restarted":
            shutil.copytree(tmp_path / "inductor-first", tmp_path / "inductor-restarted",
                            ignore=shutil.ignore_patterns("fxgraph", "aotautograd", "locks"))
        done = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("accelerated_tiny.py")), str(cache), *flags],
            env={**env, "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / f"inductor-{name}")},
            capture_output=True, text=True, timeout=600, cwd=ROOT,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    first, restarted = runs
    assert first["misses"] == 1 and first["saved"] and not first["loaded"]  # one graph for the one bucket
    assert restarted["loaded"] and restarted["misses"] == 0 and restarted["hits"] == 1 and not restarted["saved"]
    for run in runs:
        assert run["padded"] == 3 and run["batches"] == 2  # 5 renders = a 4 and a 4 padded by three, one graph
        assert run["max_level_difference"] <= 1 and run["max_embedding_difference"] <= 1e-3
    assert first["lora_eager"]  # a LoRA style renders on the eager, unfused pipeline
    assert first["restored"]  # and the next plain render is fused and compiled again, the same image
    assert restarted["lora_eager"] is None and restarted["restored"] is None  # the restart checks the cache only
