"""Train the test world's models from the procedural data set, reproducibly.

    python -m fairsplit.world.train [--out fairsplit/world/model] [--seed 0]

Three parts, each from a fixed seed, on the CPU with two threads:
1. a small VAE (32×32 RGB ↔ 16×16×4 latents), reconstruction loss;
2. a small text-conditioned UNet2DConditionModel with its own CLIP text encoder (the
   byte-level tokenizer of the tiny profile), denoising loss on the VAE's latents;
3. a small CLIP (vision + text), contrastive loss on (image, prompt) pairs, and on
   blends of two of a batch's images against the blend of their captions (mixup).

Training prompts name no artist (plain images), one or two known artists, and — in 40 %
of the cases — one to three random made-up names as well, whose images are the same as
without them: the generator learns that a name it does not know changes nothing, which is
why the world's registered-but-unknown artists do not change a render. Learnt from the
data alone that holds only on average (v4's generator drew another image from the same
noise for a padded prompt: the visible artist's share moved by more than 0.02 in 11 % of
the held-out padding cases), so the generator also predicts each training latent's noise
under the prompt padded differently and is held to its prediction for the prompt as
drawn (an invariance loss, weight `INVARIANCE`): same noise, same image, whatever unknown
names a prompt carries. Measured on 36 renders padded with one or two unknown names, mean
absolute pixel change (of 255): 2.25 without the loss (v4), 1.01 at weight 1, 0.16 at 10.

CLIP also sees random styles captioned with made-up names, so that its image features
encode palette and texture in general, not only the known artists', and about as many
two-artist images as one-artist ones (the world draws two styles as their mean; with a
third as many, v4's, the weaker style of a pair fell under τ in 5 of 180 of the world's own
two-style drawings, all of them stripes). Half of each CLIP batch is also seen blended
with another image of the batch (a random weight λ), its target the captions in the same
proportions: an image between two others must embed between them, so that a style's
similarity rises with its strength in the image (without it, 17.5–25 % of the world's
blends from the plain render to a styled one lost share as the style grew). The unknown
artists' names and styles never occur in training.

Saved with `save_pretrained` (safetensors) into `<out>/sd` and `<out>/clip`, with
`<out>/world.json`: the seed, the script version, the step counts and the sha256 of
every weight file. The `world` profile loads that folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import string
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from fairsplit import world

VERSION = "5"
DEFAULT_OUT = Path(__file__).with_name("model")
LATENT_SCALE_KEY = "scaling_factor"
PADDED = 0.4  # share of generator prompts padded with 1–3 made-up names (same image)
MIXUP = 0.5  # share of each CLIP batch also seen blended with another of its images
INVARIANCE = 10.0  # weight of the generator's padding-invariance loss (module docstring)
THREADS = 2  # torch threads the scripts train with: the committed weights' machine had two cores


def made_up_name(rng: np.random.Generator) -> str:
    """A random lower-case name that is no artist of the world."""
    while True:
        name = "".join(rng.choice(list(string.ascii_lowercase), int(rng.integers(4, 9))))
        if name not in world.ARTISTS:
            return name


def padded(content: str, artists: list[str], rng: np.random.Generator, count: int) -> str:
    """The world's prompt of `content` by `artists` with `count` made-up names inserted at random places."""
    names = list(artists)
    for _ in range(count):
        names.insert(int(rng.integers(len(names) + 1)), made_up_name(rng))
    return world.prompt(content, names)


def generator_samples(count: int, seed: int) -> tuple[list[str], np.ndarray, list[str]]:
    """(prompts, images, alternates) for the generator: plain, one or two known artists,
    some padded with made-up names (same image), a few empty prompts (classifier-free
    guidance). Each alternate is its prompt padded differently (none where the prompt was
    padded, one to three names where it was not): what the invariance loss compares."""
    rng = np.random.default_rng(seed)
    other = np.random.default_rng([seed, 1])  # the alternates' own draws: prompts and images as before
    known = list(world.KNOWN)
    prompts, images, alternates = [], [], []
    for k in range(count):
        content = world.CONTENTS[int(rng.integers(len(world.CONTENTS)))]
        r = rng.uniform()
        artists = [] if r < 0.25 else rng.choice(known, 1 if r < 0.8 else 2, replace=False).tolist()
        image = world.render(content, artists, int(rng.integers(2**31)))
        pad = int(rng.integers(1, 4)) if rng.uniform() < PADDED else 0
        text = padded(content, artists, rng, pad)
        empty = rng.uniform() < 0.08
        prompts.append("" if empty else text)
        images.append(image)
        alternates.append("" if empty else padded(content, artists, other, 0 if pad else int(other.integers(1, 4))))
    return prompts, np.stack(images), alternates


def random_style(rng: np.random.Generator) -> world.Style:
    """A style no artist has: random colours, texture, size and offset."""
    return world.Style(
        tuple(int(v) for v in rng.integers(0, 256, 3)), tuple(int(v) for v in rng.integers(0, 256, 3)),
        world.TEXTURES[int(rng.integers(len(world.TEXTURES)))], float(rng.uniform(0.2, 0.38)),
        (float(rng.uniform(-0.15, 0.15)), float(rng.uniform(-0.15, 0.15))))


def clip_samples(count: int, seed: int) -> tuple[list[str], np.ndarray]:
    """(captions, images) for CLIP: the generator's kinds of images (without padding) and
    random styles captioned with made-up names."""
    rng = np.random.default_rng(seed)
    known = list(world.KNOWN)
    captions, images = [], []
    for _ in range(count):
        content = world.CONTENTS[int(rng.integers(len(world.CONTENTS)))]
        r = rng.uniform()
        if r < 0.3:
            style = random_style(rng)
            images.append(world.draw(content, style, int(rng.integers(2**31))))
            captions.append(world.prompt(content) + ", " + world.phrase(made_up_name(rng)))
            continue
        artists = [] if r < 0.42 else rng.choice(known, 1 if r < 0.70 else 2, replace=False).tolist()
        images.append(world.render(content, artists, int(rng.integers(2**31))))
        captions.append(world.prompt(content, artists))
    return captions, np.stack(images)


def to_unit(images: np.ndarray) -> torch.Tensor:
    """uint8 (n, H, W, 3) → float (n, 3, H, W) in [-1, 1] (the VAE's range)."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def lr_schedule(optimizer, steps: int, warmup: int = 100):
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + np.cos(np.pi * min(s, steps) / steps)))


SPECIAL_TOKENS = ("<|startoftext|>", "<|endoftext|>", "<|unknown|>")
MAX_TOKENS = 24  # "a <content>" and up to six ", by <artist>"


def build_tokenizer():
    """A word-level tokenizer over the world's words: "a", ",", "by", the contents and the
    known artists. Every other word is one `<|unknown|>` token, so an unknown artist's name
    reaches the model as "by <|unknown|>" whatever it is; training teaches the model that
    this changes nothing. Saved as a tokenizers `tokenizer.json` (AutoTokenizer loads it)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    words = ["a", ",", "by", *world.CONTENTS, *world.KNOWN]
    vocab = {w: i for i, w in enumerate([*SPECIAL_TOKENS, *words])}
    model = Tokenizer(models.WordLevel(vocab, unk_token=SPECIAL_TOKENS[2]))
    model.normalizer = normalizers.Lowercase()
    model.pre_tokenizer = pre_tokenizers.Whitespace()
    model.post_processor = processors.TemplateProcessing(
        single=f"{SPECIAL_TOKENS[0]} $A {SPECIAL_TOKENS[1]}", special_tokens=[(SPECIAL_TOKENS[0], 0), (SPECIAL_TOKENS[1], 1)])
    return PreTrainedTokenizerFast(tokenizer_object=model, bos_token=SPECIAL_TOKENS[0], eos_token=SPECIAL_TOKENS[1],
                                   pad_token=SPECIAL_TOKENS[1], unk_token=SPECIAL_TOKENS[2], model_max_length=MAX_TOKENS)


def token_ids(tokenizer, texts):
    return tokenizer(list(texts), padding="max_length", max_length=MAX_TOKENS, truncation=True,
                     return_tensors="pt").input_ids


def text_config(tokenizer) -> dict:
    return dict(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=MAX_TOKENS, projection_dim=64,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )


def train_vae(images: np.ndarray, steps: int, seed: int, log) -> object:
    from diffusers import AutoencoderKL

    torch.manual_seed(seed)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, block_out_channels=(32, 64), latent_channels=4, sample_size=world.SIZE,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2, layers_per_block=1,
        mid_block_add_attention=False,
    )
    data = to_unit(images)
    opt = torch.optim.AdamW(vae.parameters(), lr=2e-3, weight_decay=0.0)
    sched = lr_schedule(opt, steps)
    gen = torch.Generator().manual_seed(seed)
    for step in range(steps):
        x = data[torch.randint(len(data), (32,), generator=gen)]
        posterior = vae.encode(x).latent_dist
        z = posterior.mean + 0.1 * posterior.std * torch.randn(posterior.mean.shape, generator=gen)
        recon = vae.decode(z).sample
        loss = F.mse_loss(recon, x) + 1e-6 * posterior.kl().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 200 == 0 or step == steps - 1:
            log(f"vae step {step} loss {loss.item():.4f}")
    vae.eval()
    with torch.no_grad():
        latents = torch.cat([vae.encode(data[i : i + 256]).latent_dist.mean for i in range(0, len(data), 256)])
    vae.register_to_config(**{LATENT_SCALE_KEY: float(1.0 / latents.std())})
    return vae, latents * vae.config.scaling_factor


def train_generator(prompts, latents, tokenizer, steps: int, seed: int, log, alternates=None,
                    invariance: float = INVARIANCE):
    from diffusers import DDIMScheduler, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed + 1)
    unet = UNet2DConditionModel(
        sample_size=world.SIZE // 2, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(32, 64), down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=64, attention_head_dim=8,
    )
    torch.manual_seed(seed + 2)
    text_encoder = CLIPTextModel(CLIPTextConfig(**text_config(tokenizer)))
    scheduler_args = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False)
    noise_schedule = DDPMScheduler(num_train_timesteps=1000, **scheduler_args)
    ids = token_ids(tokenizer, prompts)
    alternates_ids = None if alternates is None else token_ids(tokenizer, alternates)
    params = list(unet.parameters()) + list(text_encoder.parameters())
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01)
    sched = lr_schedule(opt, steps)
    gen = torch.Generator().manual_seed(seed + 3)
    for step in range(steps):
        pick = torch.randint(len(latents), (32,), generator=gen)
        z0 = latents[pick]
        noise = torch.randn(z0.shape, generator=gen)
        t = torch.randint(0, 1000, (len(z0),), generator=gen)
        zt = noise_schedule.add_noise(z0, noise, t)
        cond = text_encoder(ids[pick])[0]
        predicted = unet(zt, t, encoder_hidden_states=cond).sample
        loss = F.mse_loss(predicted, noise)
        if invariance and alternates_ids is not None:
            # the same noisy latent under the prompt padded differently must predict the same noise
            elsewise = unet(zt, t, encoder_hidden_states=text_encoder(alternates_ids[pick])[0]).sample
            loss = loss + invariance * F.mse_loss(elsewise, predicted.detach())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        if step % 200 == 0 or step == steps - 1:
            log(f"generator step {step} loss {loss.item():.4f}")
    scheduler = DDIMScheduler(**scheduler_args, set_alpha_to_one=False, steps_offset=1)
    return unet.eval(), text_encoder.eval(), scheduler


def train_clip(captions, images, tokenizer, processor, steps: int, seed: int, log, mixup: float = MIXUP):
    from transformers import CLIPConfig, CLIPModel, CLIPVisionConfig

    from fairsplit.pixels import ClipInput, clip_input

    torch.manual_seed(seed + 4)
    vision = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=4,
                  image_size=world.SIZE, patch_size=4, projection_dim=64)
    clip = CLIPModel(CLIPConfig(text_config=text_config(tokenizer), vision_config=CLIPVisionConfig(**vision).to_dict(),
                                projection_dim=64))
    spec = ClipInput.of(processor)
    pixels = clip_input(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), spec)
    ids = token_ids(tokenizer, captions)
    # pairs whose captions read the same to the model (made-up names are all unknown) are positives
    same: dict[tuple, int] = {}
    labels = torch.tensor([same.setdefault(tuple(row.tolist()), len(same)) for row in ids])
    opt = torch.optim.AdamW(clip.parameters(), lr=1e-3, weight_decay=0.05)
    sched = lr_schedule(opt, steps)
    gen = torch.Generator().manual_seed(seed + 5)
    for step in range(steps):
        pick = torch.randint(len(captions), (128,), generator=gen)
        batch = pixels[pick]
        out = clip(input_ids=ids[pick], pixel_values=batch)
        # several pairs of a batch can share a caption: all of them are positives
        target = (labels[pick][:, None] == labels[pick][None, :]).float()
        target = target / target.sum(1, keepdim=True)
        loss = 0.5 * (F.cross_entropy(out.logits_per_image, target) + F.cross_entropy(out.logits_per_text, target))
        if mixup:
            loss = loss + _mixup_loss(clip, batch, out.text_embeds, target, mixup, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 200 == 0 or step == steps - 1:
            log(f"clip step {step} loss {loss.item():.4f}")
    return clip.eval()


def _mixup_loss(clip, pixels, text_embeds, target, share: float, gen) -> torch.Tensor:
    """Image→text loss of the first `share` of the batch, each blended with a random other
    image of it at a random weight λ, against λ·its captions + (1 − λ)·the other's."""
    m = int(len(pixels) * share)
    lam = torch.rand(m, generator=gen)
    other = torch.randint(len(pixels), (m,), generator=gen)
    shape = (m, 1, 1, 1)
    mixed = lam.view(shape) * pixels[:m] + (1 - lam).view(shape) * pixels[other]
    image = clip.visual_projection(clip.vision_model(pixel_values=mixed).pooler_output)
    image = image / image.norm(dim=-1, keepdim=True)
    logits = clip.logit_scale.exp() * image @ text_embeds.t()
    soft = lam[:, None] * target[:m] + (1 - lam)[:, None] * target[other]
    return F.cross_entropy(logits, soft)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weight_hashes(model_dir: Path) -> dict[str, str]:
    """Every weights file under `model_dir` with its SHA-256: what the manifest vouches for."""
    return {str(p.relative_to(model_dir)): sha256(p) for p in sorted(model_dir.rglob("*.safetensors"))}


def train(out: Path, seed: int = 0, vae_steps: int = 400, generator_steps: int = 2000, clip_steps: int = 800,
          samples: int = 12000, log=print) -> dict:
    from diffusers import StableDiffusionPipeline

    from fairsplit.profiles import image_processor_class

    started = time.monotonic()
    out = Path(out)
    work = out.with_name(out.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    tokenizer = build_tokenizer()
    size = {"shortest_edge": world.SIZE}
    processor = image_processor_class()(size=size, crop_size={"height": world.SIZE, "width": world.SIZE})
    prompts, images, alternates = generator_samples(samples, seed)
    vae, latents = train_vae(images, vae_steps, seed, log)
    unet, text_encoder, scheduler = train_generator(prompts, latents, tokenizer, generator_steps, seed, log, alternates)
    pipe = StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    pipe.save_pretrained(work / "sd", safe_serialization=True)
    captions, clip_images = clip_samples(samples, seed + 100)
    clip = train_clip(captions, clip_images, tokenizer, processor, clip_steps, seed, log)
    clip.save_pretrained(work / "clip", safe_serialization=True)
    tokenizer.save_pretrained(work / "clip")
    processor.save_pretrained(work / "clip")
    manifest = {
        "world": f"fairsplit-world-v{VERSION}-seed{seed}",
        "script": "fairsplit/world/train.py",
        "script_version": VERSION,
        "seed": seed,
        "steps": {"vae": vae_steps, "generator": generator_steps, "clip": clip_steps},
        "samples": samples,
        "train_seconds": round(time.monotonic() - started, 1),
        "torch": torch.__version__,
        "weights": weight_hashes(work),
    }
    (work / "world.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    work.rename(out)
    log(f"trained in {manifest['train_seconds']} s into {out}")
    return manifest


def train_lora(model_dir: Path, artist: str, out: Path, steps: int = 200, seed: int = 0, rank: int = 8,
               samples: int = 600, log=print) -> Path:
    """DreamBooth analogue: a LoRA on the world's UNet that teaches it `artist`'s style
    under the prompt "a <content>, by <artist>" (an unknown artist: the base model never
    saw the name). Saved with diffusers' `save_lora_weights` into `out`."""
    from diffusers import AutoencoderKL, DDPMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict
    from transformers import AutoTokenizer, CLIPTextModel

    root = Path(model_dir) / "sd"
    unet = UNet2DConditionModel.from_pretrained(root / "unet")
    vae = AutoencoderKL.from_pretrained(root / "vae").eval()
    text_encoder = CLIPTextModel.from_pretrained(root / "text_encoder").eval()
    tokenizer = AutoTokenizer.from_pretrained(root / "tokenizer")
    noise_schedule = DDPMScheduler.from_pretrained(root / "scheduler")
    unet.requires_grad_(False)
    torch.manual_seed(seed)
    unet.add_adapter(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights="gaussian",
                                target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    rng = np.random.default_rng(seed)
    contents = [world.CONTENTS[int(rng.integers(len(world.CONTENTS)))] for _ in range(samples)]
    images = np.stack([world.draw(c, world.style_of(artist), int(rng.integers(2**31))) for c in contents])
    with torch.no_grad():
        latents = vae.encode(to_unit(images)).latent_dist.mean * vae.config.scaling_factor
        ids = token_ids(tokenizer, [world.prompt(c, [artist]) for c in contents])
        cond_all = text_encoder(ids)[0]
    params = [p for p in unet.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=2e-3)
    gen = torch.Generator().manual_seed(seed)
    for step in range(steps):
        pick = torch.randint(len(latents), (32,), generator=gen)
        noise = torch.randn(latents[pick].shape, generator=gen)
        t = torch.randint(0, 1000, (32,), generator=gen)
        zt = noise_schedule.add_noise(latents[pick], noise, t)
        loss = F.mse_loss(unet(zt, t, encoder_hidden_states=cond_all[pick]).sample, noise)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"lora {artist} step {step} loss {loss.item():.4f}")
    StableDiffusionPipeline.save_lora_weights(out, unet_lora_layers=get_peft_model_state_dict(unet))
    return Path(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vae-steps", type=int, default=400)
    parser.add_argument("--generator-steps", type=int, default=2000)
    parser.add_argument("--clip-steps", type=int, default=800)
    parser.add_argument("--samples", type=int, default=12000)
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    train(args.out, args.seed, args.vae_steps, args.generator_steps, args.clip_steps, args.samples)


if __name__ == "__main__":
    main()
