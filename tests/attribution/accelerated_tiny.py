"""Run by test_attr_accelerate.py in a fresh process: the tiny profile compiled on a CPU
with one bucket (4: one graph to compile, the suite's longest test) and a compile cache folder (argv[1]); prints one JSON line.
With `--no-lora` (the restarted process) it skips the LoRA round trip, which the first process checks."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch._dynamo.utils import counters

from fairsplit.profiles import load_profile, make_tiny_lora
from fairsplit.render import Renderer, RenderJob, adapter_name, embed_pixels
from fairsplit.sources import Acceleration, ModelSources


def main(cache: Path, lora_round_trip: bool = True) -> None:
    torch.set_num_threads(1)
    sources = ModelSources(cache_dir=Path(os.environ["FAIRSPLIT_MODEL_CACHE"]))
    options = Acceleration(compile=True, fuse_qkv=True, channels_last=True, buckets=(4,), compile_cache=cache)
    fast = load_profile("tiny", sources, options)
    renderer = Renderer(fast)
    warm = renderer.warm_up()
    before = (renderer.batches, renderer.padded)
    jobs = [RenderJob(f"an image of a man {i}", i, fast.default_params) for i in range(5)]
    pixels = renderer.render_pixels(jobs)
    batches, padded = renderer.batches - before[0], renderer.padded - before[1]
    plain = load_profile("tiny", sources, Acceleration(compile=False))
    reference = Renderer(plain).render_pixels(jobs)
    levels = max(int((a.int() - b.int()).abs().max()) for a, b in zip(pixels, reference))
    embeddings = float(np.abs(embed_pixels(fast, pixels) - embed_pixels(plain, reference)).max())
    misses, hits = counters["inductor"].get("fxgraph_cache_miss", 0), counters["inductor"].get("fxgraph_cache_hit", 0)
    eager = restored = None
    if lora_round_trip:
        with tempfile.TemporaryDirectory() as folder:
            lora = str(make_tiny_lora(Path(folder) / "lora", sources.cache_dir))
            renderer.render_pixels([RenderJob("by Van Gogh", 1, fast.default_params, ((adapter_name("van-gogh"), lora),))])
        eager = not fast.accelerator.compiled and not fast.pipe.fusing_unet
        again = Renderer(fast).render_pixels(jobs[:1])[0]  # no adapter: fused and compiled again
        restored = bool(fast.accelerator.compiled and fast.pipe.fusing_unet
                        and int((again.int() - pixels[0].int()).abs().max()) <= 1)
    print(json.dumps({
        "loaded": warm.cache_loaded, "saved": warm.cache_saved is not None,
        "misses": misses, "hits": hits,
        "batches": batches, "padded": padded, "max_level_difference": levels,
        "max_embedding_difference": embeddings, "lora_eager": eager,
        "restored": restored,
    }))


if __name__ == "__main__":
    main(Path(sys.argv[1]), lora_round_trip="--no-lora" not in sys.argv[2:])
