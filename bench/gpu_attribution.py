"""Attributed events/s on a GPU at Stable Diffusion v1.5 / CLIP ViT-L/14 size, next to a naive loop.

The models are built from their configurations (written below) with random weights:
nothing is downloaded, and the compute is the real one. 512×512, 25 steps, guidance 7.5.
- fairsplit: `attribute_many` over a `Models` made of those components in bf16 (fp16
  without bf16), SDPA attention, the project's `Renderer` (coalitions of all events of a
  batch rendered together, pure-model renders cached), optionally `torch.compile`d UNet.
- reference, same run: a naive loop that renders each coalition of each event one at a
  time with a stock diffusers `StableDiffusionPipeline` in float32, embeds each image with
  CLIP, one at a time.
Per artist count (1–4): events/s of both, the speed-up, peak GPU memory and TFLOP/s
(FLOPs of one render counted with `torch.utils.flop_counter`, times images rendered).

    python bench/gpu_attribution.py [--artists 1,2,3,4] [--events 4] [--compile]
    python bench/gpu_attribution.py --device cpu --tiny      # smoke run of the same code
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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


def components(tiny: bool, device, dtype):
    """(StableDiffusionPipeline, CLIPModel, tokenizer, image processor), random weights, on `device`."""
    import torch
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPConfig, CLIPModel, CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from fairsplit.profiles import _image_processor_class, ensure_tiny_models
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
    processor = _image_processor_class()(size={"shortest_edge": side}, crop_size={"height": side, "width": side})
    return pipe, clip.to(device, dtype).eval(), tokenizer, processor


def fairsplit_models(pipe, clip, tokenizer, processor, device, dtype):
    from fairsplit.profiles import Models, ModelRef, memory_budget
    from fairsplit.request import Params

    return Models("sd15", pipe, clip, tokenizer, processor, ModelRef("bench/sd15-random", "random"),
                  ModelRef("bench/clip-vit-l14-random", "random"), device, dtype, True, Params(), memory_budget(device))


def requests(n_events: int, n_artists: int, params, offset: int):
    from fairsplit.request import AttributionRequest, Style

    return [
        AttributionRequest("sd-1.5", CONTENTS[i % len(CONTENTS)],
                           tuple(Style(a, f"by {a}") for a in ARTISTS[:n_artists]), seed=offset + i, params=params,
                           event_id=f"bench-{offset + i}")
        for i in range(n_events)
    ]


def galleries(models, n_dims: int):
    import numpy as np

    from fairsplit.request import Gallery

    rng = np.random.default_rng(0)
    out = {}
    for artist in ARTISTS:
        vector = rng.standard_normal(n_dims).astype(np.float32)
        out[artist] = Gallery(vector / np.linalg.norm(vector), 4, models.embedder.id)
    return out


def render_flops(pipe, params, device) -> int:
    """FLOPs of rendering one image (text encoder, every UNet step with guidance, VAE decode)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        pipe("a", num_inference_steps=params.steps, guidance_scale=params.guidance, width=params.width,
             height=params.height, generator=torch.Generator("cpu").manual_seed(0))
    return counter.get_total_flops()


def naive_events(pipe, clip, processor, reqs, device) -> None:
    """Each coalition of each event rendered alone with the stock pipeline, then embedded alone."""
    import torch

    for request in reqs:
        phrases = [s.phrase for s in request.styles]
        embeddings = []
        for k in range(len(phrases) + 1):
            for subset in combinations(phrases, k):
                prompt = ", ".join([request.content, *subset])
                with torch.inference_mode():
                    image = pipe(prompt, num_inference_steps=request.params.steps, guidance_scale=request.params.guidance,
                                 width=request.params.width, height=request.params.height,
                                 generator=torch.Generator("cpu").manual_seed(request.seed)).images[0]
                    pixels = processor(images=[image], return_tensors="pt")["pixel_values"].to(device, clip.dtype)
                    embeddings.append(clip.get_image_features(pixel_values=pixels))
        if device.type == "cuda":
            torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu (with --tiny, a smoke run)")
    parser.add_argument("--tiny", action="store_true", help="small configs, 32×32, 2 steps: exercises the code anywhere")
    parser.add_argument("--artists", default="1,2,3,4", help="artist counts to measure")
    parser.add_argument("--events", type=int, default=4, help="events per artist count (fairsplit attributes them as one batch)")
    parser.add_argument("--naive-events", type=int, default=1, help="events per artist count for the naive loop")
    parser.add_argument("--compile", action="store_true", help="torch.compile the fairsplit UNet")
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
    from fairsplit.attribute import AttributionConfig, attribute_many
    from fairsplit.profiles import half_dtype
    from fairsplit.render import Renderer
    from fairsplit.request import Params

    params = Params(steps=2, guidance=7.5, width=32, height=32) if args.tiny else Params(25, 7.5, 512, 512)
    fast_dtype = half_dtype(device)
    pipe, clip, tokenizer, processor = components(args.tiny, device, fast_dtype)
    models = fairsplit_models(pipe, clip, tokenizer, processor, device, fast_dtype)
    if args.compile:
        pipe.unet = torch.compile(pipe.unet)
    flops = render_flops(pipe, params, device)
    stock_pipe, stock_clip, _, _ = components(args.tiny, device, torch.float32)  # the naive reference, float32
    store = galleries(models, clip.config.projection_dim)
    config = AttributionConfig(mode="generative")
    renderer = Renderer(models)
    rendered = {"images": 0}
    generate = renderer._generate

    def counting(jobs, p):
        rendered["images"] += len(jobs)
        return generate(jobs, p)

    renderer._generate = counting
    attribute_many(requests(1, 1, params, 10_000), models, store, config, renderer)  # warm-up (and compile)
    rows = []
    offset = 0
    for n_artists in [int(a) for a in args.artists.split(",")]:
        reqs = requests(args.events, n_artists, params, offset)
        offset += args.events
        if device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        rendered["images"] = 0
        start = time.perf_counter()
        attribute_many(reqs, models, store, config, renderer)
        if device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        fast = args.events / elapsed
        tflops = flops * rendered["images"] / elapsed / 1e12
        memory = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else float("nan")
        naive_reqs = requests(args.naive_events, n_artists, params, offset)
        offset += args.naive_events
        start = time.perf_counter()
        naive_events(stock_pipe, stock_clip, processor, naive_reqs, device)
        naive = args.naive_events / (time.perf_counter() - start)
        rows.append((n_artists, fast, naive, tflops, memory))
        print(f"{n_artists} artist(s): fairsplit {fast:8.3f} events/s ({rendered['images']} renders, {tflops:.2f} TFLOP/s, "
              f"peak {memory:.1f} GiB) | naive stock-pipeline loop {naive:8.3f} events/s | x{fast / naive:.2f}")
    if not args.no_record:
        from _common import record

        where = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
        size = "tiny" if args.tiny else "SD1.5+ViT-L/14 random weights 512px 25 steps"
        record(f"gpu attribution on {where}, {size}, {fast_dtype}".replace("torch.", ""),
               "; ".join(f"{a} artists: fairsplit {f:.3f} events/s vs naive fp32 loop {n:.3f} (x{f / n:.2f}), "
                         f"{t:.2f} TFLOP/s, {m:.1f} GiB" for a, f, n, t, m in rows))


if __name__ == "__main__":
    main()
