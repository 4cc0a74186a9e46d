"""Attributed events/s on a GPU at Stable Diffusion v1.5 / CLIP ViT-L/14 size, next to the
stock diffusers scripts a competent engineer would write, and to the GPU's own matmul rate.

The models are built from their configurations (below) with random weights: nothing is
downloaded, the compute is the real one. 512×512, 25 steps, guidance 7.5, bf16 (fp16
without bf16). One run, per artist count (1–4), `--events` events per row, each row
timed after an untimed call of the same shape:

- fairsplit: `attribute_many` with the profile's `Acceleration` (fused QKV, channels_last,
  compiled UNet in batch buckets, renders on the device to CLIP, memory ceiling), events
  without their image (the grand coalition is rendered, as the stock scripts do);
- fairsplit, events bring their image's CLIP embedding (`image_embedding`): 2^n − 1 renders;
- fairsplit, image mixing: events that mix one 512 px work per artist through SD 1.5's
  IP-Adapter (random weights, ViT-H/14 image encoder; `_gpu_mixing.py`), eager UNet;
- competent stock: `StableDiffusionPipeline`, all coalitions of an event in one call,
  bf16, PIL out, CLIP (with its processor) after;
- tuned stock: the same pipeline with `fuse_qkv_projections()`, channels_last and the
  compiled UNet (fairsplit's own compiled graphs: the difference is orchestration),
  `output_type="pt"`, CLIP after on the tensors;
- `--fp32-loop`: the float32 loop rendering one coalition at a time (a straw man: extra
  row only).
Reference figures in the same run: the GPU's bf16 matmul rate (8192³), the FLOPs of one
render (`torch.utils.flop_counter`), so fairsplit's fraction of the limit = FLOPs per
render × renders / time / matmul rate. Also: fairsplit's peak memory (allocated and
reserved, only its models resident), its first warm-up (compiles unless cached) and the
warm start of a fresh process loading the compile cache (to its first attributed event).

    python bench/gpu_attribution.py --warm-up-only --compile-cache .bench-cache   # compile once (minutes)
    python bench/gpu_attribution.py --compile-cache .bench-cache                   # every row
    python bench/gpu_attribution.py --device cpu --tiny                            # smoke run of every row

Imports: torch, diffusers, transformers and fairsplit only (the GPU image has no database drivers).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _gpu_mixing  # noqa: E402

SD15_UNET = dict(
    sample_size=64, in_channels=4, out_channels=4, layers_per_block=2, cross_attention_dim=768, attention_head_dim=8,
    block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
)
SD15_VAE = dict(
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, sample_size=512,
    block_out_channels=(128, 256, 512, 512),
    down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
)
VIT_L14_TEXT = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                    max_position_embeddings=77, projection_dim=768, hidden_act="quick_gelu")
VIT_L14_VISION = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                      image_size=224, patch_size=14, projection_dim=768, hidden_act="quick_gelu")
SD15_SCHEDULER = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", skip_prk_steps=True,
                      steps_offset=1, set_alpha_to_one=False)

TINY_UNET = dict(sample_size=16, in_channels=4, out_channels=4, layers_per_block=1, cross_attention_dim=32,
                 attention_head_dim=8, block_out_channels=(32, 64),
                 down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"))
TINY_VAE = dict(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1, sample_size=32,
                block_out_channels=(32, 64), down_block_types=("DownEncoderBlock2D",) * 2,
                up_block_types=("UpDecoderBlock2D",) * 2)
TINY_TEXT = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                 max_position_embeddings=77, projection_dim=32)
TINY_VISION = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                   image_size=32, patch_size=8, projection_dim=32)

ARTISTS = ("van-gogh", "hokusai", "klimt", "monet")
CONTENTS = ("an image of a man", "a harbour at dawn", "a cat asleep on a chair", "a mountain village")
GIB = 2**30


# --- models -------------------------------------------------------------------------------


def components(tiny: bool, device, dtype):
    """(StableDiffusionPipeline, CLIPModel, tokenizer, image processor), random weights, on `device`."""
    import torch
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPConfig, CLIPModel, CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from fairsplit.profiles import image_processor_class, ensure_tiny_models
    from fairsplit.sources import DEFAULT_CACHE

    tokenizer = CLIPTokenizer.from_pretrained(ensure_tiny_models(Path(os.environ.get("FAIRSPLIT_MODEL_CACHE", DEFAULT_CACHE))) / "clip")  # byte vocab; prompts pad to 77 tokens
    tokenizer.model_max_length = 77
    ids = dict(vocab_size=49408 if not tiny else len(tokenizer), bos_token_id=tokenizer.bos_token_id,
               eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    text = {**(TINY_TEXT if tiny else VIT_L14_TEXT), **ids}
    vision = TINY_VISION if tiny else VIT_L14_VISION
    torch.manual_seed(0)
    with torch.device(device):
        unet = UNet2DConditionModel(**(TINY_UNET if tiny else SD15_UNET))
        vae = AutoencoderKL(**(TINY_VAE if tiny else SD15_VAE))
        text_encoder = CLIPTextModel(CLIPTextConfig(**text))
        clip = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=text["projection_dim"]))
    pipe = StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=PNDMScheduler(**SD15_SCHEDULER),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    ).to(device, dtype)
    pipe.set_progress_bar_config(disable=True)
    side = vision["image_size"]
    processor = image_processor_class()(size={"shortest_edge": side}, crop_size={"height": side, "width": side})
    return pipe, clip.to(device, dtype).eval(), tokenizer, processor


def fairsplit_models(parts, device, dtype, acceleration, image_adapter=None):
    """A `Models` over the bench components, accelerated as a loaded profile would be."""
    from dataclasses import replace

    from fairsplit.profile import facts
    from fairsplit.profiles import ModelRef, build_models

    pipe, clip, tokenizer, processor = parts
    spec = replace(facts("sd15"), generator=ModelRef("bench/sd15-random", "random"),
                   embedder=ModelRef("bench/clip-vit-l14-random", "random"), test_model=True)
    return build_models(spec, pipe, clip, tokenizer, processor, device, dtype, acceleration, image_adapter)


def requests(n_events: int, n_artists: int, params, offset: int, embedding=None):
    from fairsplit.request import AttributionRequest, Style

    return [
        AttributionRequest("sd-1.5", CONTENTS[i % len(CONTENTS)],
                           tuple(Style(a, f"by {a}") for a in ARTISTS[:n_artists]), seed=offset + i, params=params,
                           event_id=f"bench-{offset + i}", image_embedding=embedding)
        for i in range(n_events)
    ]


def galleries(models):
    import numpy as np

    from fairsplit.gallery import Gallery

    rng = np.random.default_rng(0)
    out = {}
    for artist in ARTISTS:
        vector = rng.standard_normal(models.clip.config.projection_dim).astype(np.float32)
        out[artist] = Gallery(vector / np.linalg.norm(vector), 4, models.embedder.id)
    return out


def brought_embedding(models):
    """An `image_embedding` as a platform would send it (random: the weights are random too)."""
    import numpy as np

    from fairsplit.request import ImageEmbedding

    vector = np.random.default_rng(1).standard_normal(models.clip.config.projection_dim).astype(np.float32)
    return ImageEmbedding(tuple(float(v) for v in vector), models.embedder.id, models.embedder.revision)


# --- references ---------------------------------------------------------------------------


def sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_rate(device) -> tuple[float, str]:
    """FLOP/s of a square matmul: bf16 8192³ on a GPU, fp32 512³ on a CPU (smoke)."""
    import torch

    size, dtype = (8192, torch.bfloat16) if device.type == "cuda" else (512, torch.float32)
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    sync(device)
    repeats = 20 if device.type == "cuda" else 5
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync(device)
    return 2 * size**3 * repeats / (time.perf_counter() - start), f"{str(dtype).replace('torch.', '')} {size}³"


def render_flops(pipe, params) -> int:
    """FLOPs of rendering one image (text encoder, every UNet step with guidance, VAE decode)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        pipe("a", num_inference_steps=params.steps, guidance_scale=params.guidance, width=params.width,
             height=params.height, generator=torch.Generator("cpu").manual_seed(0))
    return counter.get_total_flops()


def coalition_prompts(request) -> list[str]:
    phrases = [s.phrase for s in request.styles]
    return [", ".join([request.content, *subset]) for k in range(len(phrases) + 1) for subset in combinations(phrases, k)]


def stock_events(pipe, clip, processor, reqs, device, tensor_out: bool) -> int:
    """One pipeline call per event with all its coalitions; CLIP after. Returns renders."""
    import torch
    import torch.nn.functional as F

    rendered = 0
    side = processor.crop_size["height"] if isinstance(processor.crop_size, dict) else processor.crop_size.height
    mean = torch.tensor(processor.image_mean, device=device).view(1, 3, 1, 1)
    std = torch.tensor(processor.image_std, device=device).view(1, 3, 1, 1)
    for request in reqs:
        prompts = coalition_prompts(request)
        p = request.params
        with torch.inference_mode():
            out = pipe(prompts, num_inference_steps=p.steps, guidance_scale=p.guidance, width=p.width, height=p.height,
                       generator=[torch.Generator("cpu").manual_seed(request.seed) for _ in prompts],
                       output_type="pt" if tensor_out else "pil").images
            if tensor_out:  # tensors in [0, 1] on the device: resize + normalise there
                pixels = (F.interpolate(out.float(), size=(side, side), mode="bicubic", antialias=True) - mean) / std
            else:
                pixels = processor(images=list(out), return_tensors="pt")["pixel_values"].to(device)
            clip.get_image_features(pixel_values=pixels.to(clip.dtype))
        rendered += len(prompts)
    sync(device)
    return rendered


def fp32_loop(pipe, clip, processor, reqs, device) -> int:
    """Each coalition of each event rendered alone in float32, embedded alone."""
    import torch

    rendered = 0
    for request in reqs:
        p = request.params
        for prompt in coalition_prompts(request):
            with torch.inference_mode():
                image = pipe(prompt, num_inference_steps=p.steps, guidance_scale=p.guidance, width=p.width,
                             height=p.height, generator=torch.Generator("cpu").manual_seed(request.seed)).images[0]
                pixels = processor(images=[image], return_tensors="pt")["pixel_values"].to(device, clip.dtype)
                clip.get_image_features(pixel_values=pixels)
            rendered += 1
    sync(device)
    return rendered


def tuned_pipe(models, backend: str):
    """The stock pipeline on fairsplit's components, fused + channels_last + compiled: reuses
    fairsplit's compiled UNet when it has one (same graphs, no second compile)."""
    import torch

    pipe = models.pipe
    if not models.accelerator.compiled:
        if not getattr(pipe, "fusing_unet", False):
            pipe.fuse_qkv_projections()
        pipe.unet.to(memory_format=torch.channels_last)
        pipe.vae.to(memory_format=torch.channels_last)
        pipe.unet = torch.compile(pipe.unet, backend=backend)
    return pipe


# --- timing -------------------------------------------------------------------------------


class Timer:
    """Events/s of a call after an untimed call of the same shape; peak memory of the timed one."""

    def __init__(self, device) -> None:
        self.device = device

    def __call__(self, run, warm_up) -> dict:
        import torch

        warm_up()
        sync(self.device)
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        start = time.perf_counter()
        events, renders = run()
        sync(self.device)
        elapsed = time.perf_counter() - start
        row = {"events_s": events / elapsed, "renders": renders, "seconds": elapsed}
        if self.device.type == "cuda":
            row["peak_gib"] = torch.cuda.max_memory_allocated(self.device) / GIB
            row["reserved_gib"] = torch.cuda.max_memory_reserved(self.device) / GIB
        return row


def free(device) -> None:
    import torch

    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.set_per_process_memory_fraction(1.0, device)


# --- the run ------------------------------------------------------------------------------


def acceleration_of(args):
    from fairsplit.sources import Acceleration

    buckets = tuple(int(b) for b in args.buckets.split(",")) if args.buckets else Acceleration().buckets
    on = {"auto": None, "on": True, "off": False}[args.compile]
    return Acceleration(compile=on, fuse_qkv=on, channels_last=on, cuda_graphs=args.cuda_graphs,
                        memory_ceiling_gib=args.memory_gib, buckets=buckets,
                        compile_cache=Path(args.compile_cache) if args.compile_cache else None)


def warm_start_child(args) -> None:
    """A restarted worker: build, accelerate with the persisted cache, warm up, attribute one
    4-artist event. Prints one JSON line; the parent times the whole process."""
    import torch

    from fairsplit.attribute import AttributionConfig, attribute_many
    from fairsplit.profiles import half_dtype
    from fairsplit.render import Renderer

    started = time.perf_counter()
    device = torch.device(args.device)
    dtype = half_dtype(device)
    params = bench_params(args)
    models = fairsplit_models(components(args.tiny, device, dtype), device, dtype, acceleration_of(args))
    built = time.perf_counter()
    renderer = Renderer(models)
    warm = renderer.warm_up(params)
    warmed = time.perf_counter()
    attribute_many(requests(1, 4, params, 50_000), models, galleries(models), AttributionConfig(tau=-1.0), renderer)
    sync(device)
    print(json.dumps({"build_s": built - started, "warm_up_s": warmed - built,
                      "first_event_s": time.perf_counter() - warmed, "cache_loaded": warm.cache_loaded,
                      "buckets": list(warm.buckets)}))


def bench_params(args):
    from fairsplit.request import Params

    return Params(steps=2, guidance=7.5, width=32, height=32) if args.tiny else Params(25, 7.5, 512, 512)


def measure_warm_start(args) -> dict:
    """Run a fresh process that loads the compile cache (and an empty inductor cache, so
    only the persisted file can spare it a compile); time it to its first result."""
    command = [sys.executable, __file__, "--warm-start-child", "--device", args.device,
               "--memory-gib", str(args.memory_gib), "--compile", args.compile]
    for flag, on in (("--tiny", args.tiny), ("--cuda-graphs", args.cuda_graphs)):
        if on:
            command.append(flag)
    if args.buckets:
        command += ["--buckets", args.buckets]
    if args.compile_cache:
        command += ["--compile-cache", args.compile_cache]
    with tempfile.TemporaryDirectory() as inductor:
        env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": inductor, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        start = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
        wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"warm-start child failed:\n{done.stderr[-3000:]}")
    return {"wall_s": wall, **json.loads(done.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu (with --tiny, a smoke run)")
    parser.add_argument("--tiny", action="store_true", help="small configs, 32×32, 2 steps: exercises the code anywhere")
    parser.add_argument("--artists", default="1,2,3,4", help="artist counts to measure")
    parser.add_argument("--events", type=int, default=4, help="events per row (fairsplit attributes them as one batch)")
    parser.add_argument("--buckets", default="", help="fairsplit's batch buckets, e.g. 2,4,8,16,32,64 (default: Acceleration's)")
    parser.add_argument("--memory-gib", type=float, default=16.0, help="fairsplit's memory ceiling")
    parser.add_argument("--compile", choices=("auto", "on", "off"), default="auto",
                        help="fairsplit's fused QKV + channels_last + compiled UNet (auto: on for CUDA)")
    parser.add_argument("--cuda-graphs", action="store_true", help="compile mode reduce-overhead (CUDA graphs)")
    parser.add_argument("--compile-cache", default="", help="folder of the persisted compile cache (default: a temporary one)")
    parser.add_argument("--compile-backend", default="inductor", help="torch.compile backend of the tuned stock row where "
                        "fairsplit did not compile (the CPU smoke run passes eager)")
    parser.add_argument("--fp32-loop", action="store_true", help="add the float32 one-coalition-at-a-time loop row")
    parser.add_argument("--no-warm-start", action="store_true", help="skip the restarted-process measurement")
    parser.add_argument("--warm-up-only", action="store_true", help="compile and fill the compile cache, measure nothing else")
    parser.add_argument("--warm-start-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()

    import torch

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("gpu_attribution: no CUDA device here, nothing measured. Run it on a GPU machine, "
              "or `--device cpu --tiny` for a smoke run of the same code.", file=sys.stderr)
        sys.exit(0)
    if device.type == "cpu" and not args.tiny:
        parser.error("real-size models on a CPU would take hours: add --tiny, or use a GPU")
    if args.warm_start_child:
        warm_start_child(args)
        return
    with tempfile.TemporaryDirectory() as scratch:
        args.compile_cache = args.compile_cache or str(Path(scratch) / "compile-cache")
        args.scratch = scratch
        run(args, device)


def run(args, device) -> None:
    import torch

    from fairsplit.attribute import AttributionConfig, attribute_many
    from fairsplit.profiles import half_dtype
    from fairsplit.render import Renderer

    params = bench_params(args)
    dtype = half_dtype(device)
    counts = [int(a) for a in args.artists.split(",")]
    config = AttributionConfig(tau=-1.0)  # every artist stays in the game: the full 2^n renders
    rate, rate_label = matmul_rate(device)
    parts = components(args.tiny, device, dtype)
    flops = render_flops(parts[0], params)
    adapter = _gpu_mixing.adapter_source(parts[0].unet, args.tiny, Path(args.scratch) / "ip-adapter")
    models = fairsplit_models(parts, device, dtype, acceleration_of(args), adapter)
    del parts
    renderer = Renderer(models)
    warm = renderer.warm_up(params)
    print(f"fairsplit warm-up: {warm.seconds:.1f} s, buckets {list(warm.buckets)}, compiled {models.accelerator.compiled}, "
          f"compile cache loaded {warm.cache_loaded}, saved {warm.cache_saved is not None}", flush=True)
    if args.warm_up_only:
        return
    store, timer, offset = galleries(models), Timer(device), 0
    rows: dict[int, dict[str, dict]] = {n: {} for n in counts}

    def fairsplit_row(n: int, embedding, mixing: bool = False) -> dict:
        nonlocal offset
        make = (lambda k: _gpu_mixing.mixed_requests(args.events, n, params, offset + k * args.events, ARTISTS,
                                                     CONTENTS, args.tiny)) if mixing else \
            (lambda k: requests(args.events, n, params, offset + k * args.events, embedding))
        batches = [make(k) for k in range(2)]
        offset += 2 * args.events
        state = {}

        def timed():
            before = renderer.rendered
            attribute_many(batches[1], models, store, config, renderer)
            state["renders"] = renderer.rendered - before
            return args.events, state["renders"]

        return timer(timed, lambda: attribute_many(batches[0], models, store, config, renderer))

    for n in counts:
        rows[n]["fairsplit"] = fairsplit_row(n, None)
        rows[n]["fairsplit, event brings embedding"] = fairsplit_row(n, brought_embedding(models))
        print(f"{n} artist(s): fairsplit {rows[n]['fairsplit']['events_s']:.3f} events/s", flush=True)
    for n in counts:  # after the plain rows: mixing loads the IP-Adapter and renders eager
        rows[n]["fairsplit, image mixing"] = fairsplit_row(n, None, mixing=True)
        print(f"{n} artist(s): fairsplit, image mixing {rows[n]['fairsplit, image mixing']['events_s']:.3f} events/s",
              flush=True)
    models.runtime.use_adapters(models.pipe, ())  # the plain pipeline again (unloaded, compiled) for the stock rows

    def stock_row(pipe, clip, processor, n: int, tensor_out: bool, loop: bool = False) -> dict:
        nonlocal offset
        warm_reqs, reqs = requests(1, n, params, offset), requests(args.events, n, params, offset + 1)
        offset += args.events + 1
        go = (lambda r: fp32_loop(pipe, clip, processor, r, device)) if loop else \
            (lambda r: stock_events(pipe, clip, processor, r, device, tensor_out))
        return timer(lambda: (len(reqs), go(reqs)), lambda: go(warm_reqs))

    tuned = tuned_pipe(models, args.compile_backend)
    for n in counts:
        rows[n]["tuned stock"] = stock_row(tuned, models.clip, models.image_processor, n, tensor_out=True)
        print(f"{n} artist(s): tuned stock {rows[n]['tuned stock']['events_s']:.3f} events/s", flush=True)
    tuned = renderer = models = None  # release the GPU memory before the reference runs
    free(device)
    warm_start = None if args.no_warm_start else measure_warm_start(args)
    pipe, clip, _, processor = components(args.tiny, device, dtype)
    for n in counts:
        rows[n]["competent stock"] = stock_row(pipe, clip, processor, n, tensor_out=False)
        print(f"{n} artist(s): competent stock {rows[n]['competent stock']['events_s']:.3f} events/s", flush=True)
    del pipe, clip
    free(device)
    if args.fp32_loop:
        pipe, clip, _, processor = components(args.tiny, device, torch.float32)
        for n in counts:
            rows[n]["fp32 loop"] = stock_row(pipe, clip, processor, n, tensor_out=False, loop=True)
        del pipe, clip
        free(device)
    report(args, device, dtype, rows, rate, rate_label, flops, warm, warm_start)


def report(args, device, dtype, rows, rate, rate_label, flops, warm, warm_start) -> None:
    import torch

    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    size = "tiny 32px 2 steps" if args.tiny else "SD1.5+ViT-L/14 random weights 512px 25 steps"
    print(f"\n{where}, {size}, {str(dtype).replace('torch.', '')}, {args.events} events per row")
    print(f"matmul ({rate_label}): {rate / 1e12:.3g} TFLOP/s; one render: {flops / 1e12:.3g} TFLOP")
    print(f"fairsplit first warm-up {warm.seconds:.1f} s (buckets {list(warm.buckets)}); "
          + (f"warm start of a fresh process to its first event {warm_start['wall_s']:.1f} s "
             f"(build {warm_start['build_s']:.1f} s, warm-up {warm_start['warm_up_s']:.1f} s with cache loaded "
             f"{warm_start['cache_loaded']}, first event {warm_start['first_event_s']:.1f} s)" if warm_start else "no warm start"))
    summary = []
    for n, columns in rows.items():
        fs = columns["fairsplit"]
        achieved = flops * fs["renders"] / fs["seconds"]
        limit = rate / (flops * fs["renders"] / args.events)
        memory = f", peak {fs['peak_gib']:.1f} GiB (reserved {fs['reserved_gib']:.1f})" if "peak_gib" in fs else ""
        line = (f"{n} artist(s): fairsplit {fs['events_s']:.3f} events/s = {achieved / 1e12:.3g} TFLOP/s, "
                f"{achieved / rate:.0%} of the matmul limit ({limit:.3f} events/s){memory}")
        others = [f"{name} {row['events_s']:.3f}" + ("" if name.startswith("fairsplit") else
                                                      f" (fairsplit x{fs['events_s'] / row['events_s']:.2f})")
                  for name, row in columns.items() if name != "fairsplit"]
        print(line + " | " + " | ".join(others))
        summary.append(f"{n} artists: fairsplit {fs['events_s']:.3f} events/s ({achieved / rate:.0%} of limit"
                       f"{memory.replace(', peak', '; peak')}), " + ", ".join(others))
    if not args.no_record:
        from _results import record

        start = f"; warm start {warm_start['wall_s']:.0f} s" if warm_start else ""
        record(f"gpu attribution on {where}, {size}, {str(dtype).replace('torch.', '')}",
               f"matmul {rate / 1e12:.3g} TFLOP/s, render {flops / 1e12:.3g} TFLOP, first warm-up {warm.seconds:.0f} s"
               f"{start}; " + "; ".join(summary))


if __name__ == "__main__":
    main()
