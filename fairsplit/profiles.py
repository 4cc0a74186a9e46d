"""Model profiles: which generator renders coalitions and which CLIP embeds them.

- `sd15` (production): Stable Diffusion v1.5 (diffusers) + CLIP ViT-L/14 (transformers),
  from the hub ids or local paths and revisions in `ModelSources`; half precision and
  SDPA attention on GPU.
- `tiny`: a seeded, randomly initialised Stable Diffusion and CLIP a few hundred kB in
  size, built once into `ModelSources.cache_dir` and loaded through the same
  `from_pretrained` code as the real models. Its outputs mean nothing; it exists so that
  tests and offline demos exercise the real code path. Results say `test_model: true`.
- `world`: the test world (`fairsplit.world`): a small generator and CLIP trained on a
  procedural data set whose styles are known, committed in `fairsplit/world/model` (or
  the folder `ModelSources.world_model`) with `world.json`, the manifest of how they were
  trained. Its shares measure the method (bench/fidelity.py) but pay nobody: results say
  `test_model: true` and name the world (`test_world`).

The device is `ModelSources.device` or the best available (cuda, mps, cpu). Nothing here
reads the environment: sources arrive as arguments (`fairsplit.sources`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import torch

from fairsplit.accelerate import Accelerator
from fairsplit.adapter import AdapterSource, ImageAdapter, build_random_adapter
from fairsplit.profile import PROFILES, TINY_SIZE, ModelRef, Profile, facts
from fairsplit.runtime import Runtime
from fairsplit.sources import Acceleration, ModelSources

__all__ = ["PROFILES", "ModelRef", "ModelUnavailable", "Models", "Profile", "load_profile"]

TINY_VERSION = "1"
TINY_SEED = 0


class ModelUnavailable(RuntimeError):
    """A model could not be loaded; the message says how to provide it."""


@dataclass(frozen=True, eq=False)
class Models:
    """A loaded profile: its facts (`spec`, immutable), the generator pipeline, the CLIP
    embedder, and the one `Runtime` that owns every piece of state that changes while it
    serves (adapters, compiled graphs, reference caches). Nothing outside `Runtime`
    changes a loaded profile."""

    spec: Profile
    pipe: object  # diffusers StableDiffusionPipeline
    clip: object  # transformers CLIPModel
    tokenizer: object
    image_processor: object
    device: torch.device
    dtype: torch.dtype
    memory_budget: int  # bytes one render batch may use off CUDA (on CUDA: Acceleration's ceiling)
    runtime: Runtime

    # the profile's facts, read through (one definition: `spec`)
    profile = property(lambda self: self.spec.name)
    generator = property(lambda self: self.spec.generator)
    embedder = property(lambda self: self.spec.embedder)
    test_model = property(lambda self: self.spec.test_model)
    default_params = property(lambda self: self.spec.default_params)
    world = property(lambda self: self.spec.world)
    reference_contents = property(lambda self: self.spec.reference_contents)
    # the runtime's state, read-only from here
    accelerator = property(lambda self: self.runtime.accelerator)
    adapters = property(lambda self: self.runtime.adapters)
    references = property(lambda self: self.runtime.references)


def pick_device(wanted: str | None = None) -> torch.device:
    if wanted:
        try:
            return torch.device(wanted)
        except (RuntimeError, ValueError):
            raise ModelUnavailable(f"device {wanted!r} is not a torch device (use cpu, cuda, cuda:1 or mps)") from None
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def half_dtype(device: torch.device) -> torch.dtype:
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float16 if device.type == "mps" else torch.float32


def memory_budget(device: torch.device) -> int:
    """Half of the free accelerator memory, or 2 GiB on CPU."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free // 2
    return 2 << 30


@lru_cache(maxsize=4)
def load_profile(name: str, sources: ModelSources = ModelSources(), acceleration: Acceleration | None = None) -> Models:
    """Load a profile once per process, sources and acceleration (models are large; callers
    share them). `acceleration` (default: `Acceleration()`, i.e. compiled on CUDA, plain
    elsewhere) is applied to the pipeline here, once, because every Renderer shares it."""
    spec = facts(name)
    _quiet()
    loader = {"tiny": _load_tiny, "world": _load_world, "sd15": _load_sd15}[name]
    return loader(spec, sources, acceleration or Acceleration())


def _quiet() -> None:
    """Loading bars and library chatter are noise on a CLI's stderr."""
    import diffusers
    import transformers

    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(diffusers|transformers)(\.|$)")
    diffusers.utils.logging.disable_progress_bar()
    diffusers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()


def _load_sd15(spec: Profile, sources: ModelSources, acceleration: Acceleration) -> Models:
    from diffusers import StableDiffusionPipeline
    from transformers import CLIPModel, CLIPTokenizer

    device = pick_device(sources.device)
    dtype = half_dtype(device)
    gen = ModelRef(sources.generator, sources.generator_revision)
    emb = ModelRef(sources.clip, sources.clip_revision)
    try:
        pipe = StableDiffusionPipeline.from_pretrained(
            gen.id, revision=gen.revision, torch_dtype=dtype, safety_checker=None, requires_safety_checker=False
        )
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(_missing(gen, "--generator-model (FAIRSPLIT_GENERATOR_MODEL)", exc)) from None
    try:
        clip = CLIPModel.from_pretrained(emb.id, revision=emb.revision, torch_dtype=dtype, attn_implementation="sdpa")
        tokenizer = CLIPTokenizer.from_pretrained(emb.id, revision=emb.revision)
        processor = image_processor_class().from_pretrained(emb.id, revision=emb.revision)
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(_missing(emb, "--clip-model (FAIRSPLIT_CLIP_MODEL)", exc)) from None
    adapter = AdapterSource(sources.ip_adapter, sources.ip_adapter_subfolder, sources.ip_adapter_weight,
                            revision=sources.ip_adapter_revision)  # loaded at the first mixed render
    return build_models(replace(spec, generator=gen, embedder=emb), pipe, clip, tokenizer, processor, device, dtype,
                        acceleration, adapter)


def _missing(ref: ModelRef, variable: str, exc: Exception) -> str:
    """One sentence that fits a line (300 characters): what to do first (a test profile, or
    a local copy), then the loader's reason if there is room (it is the least useful part)."""
    advice = (f"model '{ref.id[:60]}' is not available here; use --profile tiny or --profile world for an offline "
              f"run, or point {variable} at a local copy (`hf download`)")
    reason = " ".join(str(exc).split()) or type(exc).__name__
    room = 290 - len(advice) - 3
    return advice if room < 20 else f"{advice} ({reason if len(reason) <= room else reason[: room - 1] + '…'})"


def image_processor_class():
    """The CLIP image processor class every profile uses (the PIL one where transformers has
    it): the world's training and the pixel tests make theirs with it too."""
    import transformers

    return getattr(transformers, "CLIPImageProcessorPil", None) or transformers.CLIPImageProcessor


def build_models(spec: Profile, pipe, clip, tokenizer, processor, device: torch.device, dtype: torch.dtype,
                 acceleration: Acceleration, image_adapter: AdapterSource | None = None) -> Models:
    """The one place a loaded profile and its runtime are assembled (the accelerator is
    applied to the pipeline here, once, because every Renderer shares it)."""
    if spec.generator is None or spec.embedder is None:
        raise ValueError("a loaded profile names its generator and embedder")
    pipe = pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    clip = clip.to(device).eval()
    budget = memory_budget(device)
    runtime = Runtime(Accelerator(pipe, device, acceleration, budget), image=ImageAdapter(image_adapter))
    return Models(spec, pipe, clip, tokenizer, processor, device, dtype, budget, runtime)


# --- world: the trained test world, committed with the code ------------------------


def world_model_dir(sources: ModelSources) -> Path:
    return Path(sources.world_model) if sources.world_model else Path(__file__).parent / "world" / "model"


def _load_world(spec: Profile, sources: ModelSources, acceleration: Acceleration) -> Models:
    from diffusers import StableDiffusionPipeline
    from transformers import AutoTokenizer, CLIPModel

    root = world_model_dir(sources)
    try:
        manifest = json.loads((root / "world.json").read_text())
        world_id = str(manifest["world"])
        revision = f"{world_id}-{manifest['weights']['sd/unet/diffusion_pytorch_model.safetensors'][:12]}"
        pipe = StableDiffusionPipeline.from_pretrained(root / "sd", safety_checker=None, requires_safety_checker=False)
        clip = CLIPModel.from_pretrained(root / "clip")
        tokenizer = AutoTokenizer.from_pretrained(root / "clip")
        processor = image_processor_class().from_pretrained(root / "clip")
    except (OSError, ValueError, KeyError) as exc:
        raise ModelUnavailable(
            f"the test world in {root} could not be loaded ({type(exc).__name__}: {str(exc)[:160]}); "
            "train it with `python -m fairsplit.world.train`"
        ) from None
    spec = replace(spec, generator=ModelRef("fairsplit/world-sd.test-model", revision),
                   embedder=ModelRef("fairsplit/world-clip.test-model", revision), world=world_id)
    adapter = AdapterSource(str(root / "ip_adapter")) if (root / "ip_adapter").is_dir() else None
    return build_models(spec, pipe, clip, tokenizer, processor, pick_device(sources.device), torch.float32, acceleration,
                        adapter)


# --- tiny: seeded random models, built once, loaded like real ones ------------------


def _load_tiny(spec: Profile, sources: ModelSources, acceleration: Acceleration) -> Models:
    from diffusers import StableDiffusionPipeline
    from transformers import CLIPModel, CLIPTokenizer

    root = ensure_tiny_models(sources.cache_dir)
    device = pick_device(sources.device)
    revision = f"random-seed{TINY_SEED}-v{TINY_VERSION}"
    pipe = StableDiffusionPipeline.from_pretrained(root / "sd", safety_checker=None, requires_safety_checker=False)
    clip = CLIPModel.from_pretrained(root / "clip")
    tokenizer = CLIPTokenizer.from_pretrained(root / "clip")
    processor = image_processor_class().from_pretrained(root / "clip")
    spec = replace(spec, generator=ModelRef("fairsplit/tiny-random-sd.test-model", revision),
                   embedder=ModelRef("fairsplit/tiny-random-clip.test-model", revision))
    return build_models(spec, pipe, clip, tokenizer, processor, device, torch.float32, acceleration,
                        ensure_tiny_adapter(sources.cache_dir, pipe.unet))


def ensure_tiny_models(cache_dir: Path) -> Path:
    """Build the tiny models into the cache unless there; atomic for concurrent callers."""
    return _build_once(Path(cache_dir) / f"tiny-v{TINY_VERSION}", _build_tiny)


def ensure_tiny_adapter(cache_dir: Path, unet) -> AdapterSource:
    """The tiny profile's IP-Adapter (image mixing), built from a config for `unet` once."""
    root = _build_once(Path(cache_dir) / f"tiny-ip-v{TINY_VERSION}",
                       lambda folder: build_random_adapter(folder, unet, TINY_SEED + 10, TINY_SIZE))
    return AdapterSource(str(root))


def _build_once(root: Path, build) -> Path:
    """`build(folder)` into `root` unless it is there; atomic for concurrent callers.

    Built in a private temporary folder, then renamed into place: a process either sees
    no folder or a complete one; a loser of the race discards its copy.
    """
    if (root / "READY").exists():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tiny-", dir=root.parent))
    try:
        build(tmp)
        (tmp / "READY").write_text("ok\n")
        try:
            os.rename(tmp, root)
        except OSError:
            if not (root / "READY").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def _byte_vocab(folder: Path) -> Path:
    """A byte-level BPE vocabulary with no merges: every byte is a token."""
    # GPT-2/CLIP byte-level alphabet: printable bytes stand for themselves, the others
    # are shifted past 255 so that every byte has a visible character.
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    shifted = [b for b in range(256) if b not in printable]
    chars = [chr(b) for b in printable] + [chr(256 + k) for k in range(len(shifted))]
    vocab = {c: i for i, c in enumerate(chars + [c + "</w>" for c in chars])}
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return folder


def _build_tiny(folder: Path) -> None:
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPConfig, CLIPModel, CLIPTextConfig, CLIPTextModel, CLIPTokenizer, CLIPVisionConfig

    vocab = _byte_vocab(folder / "vocab")
    tokenizer = CLIPTokenizer(str(vocab / "vocab.json"), str(vocab / "merges.txt"), model_max_length=77)
    text = dict(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=77, projection_dim=32,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(TINY_SEED)
    unet = UNet2DConditionModel(
        sample_size=TINY_SIZE // 2, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(32, 64), down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32, attention_head_dim=8,
    )
    torch.manual_seed(TINY_SEED + 1)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, block_out_channels=(32, 64), latent_channels=4, sample_size=TINY_SIZE,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
    )
    torch.manual_seed(TINY_SEED + 2)
    text_encoder = CLIPTextModel(CLIPTextConfig(**text))
    scheduler = DDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False, set_alpha_to_one=False,
        steps_offset=1,
    )
    pipe = StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    pipe.save_pretrained(folder / "sd", safe_serialization=True)
    torch.manual_seed(TINY_SEED + 3)
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                  image_size=TINY_SIZE, patch_size=8, projection_dim=32)
    clip = CLIPModel(CLIPConfig(text_config=text, vision_config=CLIPVisionConfig(**vision).to_dict(), projection_dim=32))
    clip.save_pretrained(folder / "clip", safe_serialization=True)
    tokenizer.save_pretrained(folder / "clip")
    size = {"shortest_edge": TINY_SIZE}
    image_processor_class()(size=size, crop_size={"height": TINY_SIZE, "width": TINY_SIZE}).save_pretrained(folder / "clip")
    shutil.rmtree(vocab)


def make_tiny_lora(folder: Path, cache_dir: Path, seed: int = 7, scale: float = 0.5) -> Path:
    """Save a random LoRA adapter for the tiny UNet (for tests and demos of LoRA styles).

    peft initialises LoRA's B matrices to zero (a no-op adapter), so they are drawn at
    random here to make the adapter visibly change renders.
    """
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    unet = UNet2DConditionModel.from_pretrained(ensure_tiny_models(cache_dir) / "sd" / "unet")
    unet.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in unet.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=gen) * scale)
    StableDiffusionPipeline.save_lora_weights(folder, unet_lora_layers=get_peft_model_state_dict(unet))
    return folder
