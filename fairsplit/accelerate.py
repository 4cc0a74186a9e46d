"""How renders use an accelerator: fused attention, channels_last, compiled UNet, batch
buckets, a memory ceiling and a compile cache that survives restarts.

Every option is an explicit field of `Acceleration` (fairsplit reads no environment);
`None` means the device's default: on for CUDA, off elsewhere (on a CPU compiling costs
more than it saves, and the tests compare against the plain path).

- Buckets: the compiled UNet only ever sees batches of the bucket sizes, so its graphs
  are compiled once per bucket (at warm-up) and reused whatever mix of events arrives.
  `chunk_sizes` covers n renders with buckets at the least estimated time, padding where
  one call is cheaper than two.
- Memory: the largest bucket whose predicted peak fits under the ceiling. Predictions
  start from a conservative per-pixel prior and are refined by the peaks measured at
  warm-up (affine in the batch size); an out-of-memory batch lowers the cap for good.
- Compile cache: `torch.compiler.save_cache_artifacts()` after a warm-up that compiled
  something, written to `compile_cache`, loaded at the next start (one file per torch
  version and GPU model), so a restarted worker traces but does not recompile.
- LoRA adapters: diffusers' fused attention would bypass the adapters' `to_q/to_k/to_v`
  layers and a compiled graph would recompile per adapter set, so the first adapter
  loaded turns this pipeline back to plain eager for the rest of the process.
"""

from __future__ import annotations

import logging
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from fairsplit.request import Params
from fairsplit.sources import Acceleration

log = logging.getLogger("fairsplit.accelerate")

GIB = 1 << 30
BYTES_PER_PIXEL = 2048  # prior: peak activation bytes per output pixel of one SD render (per guidance branch)
SAFETY = 1.1  # predicted peaks are scaled by this before they are compared with the ceiling


def chunk_sizes(n: int, sizes: Sequence[int], call_cost: float) -> list[int]:
    """Batch sizes, each one of `sizes`, that cover `n` renders at the least estimated time.

    A call is estimated at `call_cost + batch` images' time, so padding a batch up to the
    next size wins over a second call when the padding costs less than the call.
    """
    if n <= 0:
        return []
    best = [0.0] + [math.inf] * n
    pick = [0] * (n + 1)
    for m in range(1, n + 1):
        for size in sizes:
            cost = best[max(0, m - size)] + call_cost + size
            if cost < best[m]:
                best[m], pick[m] = cost, size
    out, m = [], n
    while m > 0:
        out.append(pick[m])
        m = max(0, m - pick[m])
    return sorted(out, reverse=True)


def _memory_key(params: Params) -> tuple[int, int]:
    """Renders with the same pixels × guidance branches need the same activation memory."""
    return params.width * params.height, 2 if params.guidance > 1 else 1


@dataclass
class MemoryModel:
    """Predicted peak memory of a render batch, against a ceiling.

    peak(b) = resident + fixed + b · bytes_per_unit · pixels · branches. `bytes_per_unit`
    starts at the prior and `fixed` at 0; `observe` fits both to measured peaks (the two
    largest batches measured), and `too_big` records a batch that ran out of memory.
    `safety` scales the predicted activations (1 where nothing is measured: the prior is
    already generous).
    """

    ceiling: int
    resident: int = 0
    safety: float = 1.0
    bytes_per_unit: float = BYTES_PER_PIXEL
    fixed: float = 0.0
    observed: dict[int, int] = field(default_factory=dict)  # batch units (b · pixels · branches) -> peak above resident
    limits: dict[tuple[int, int], int] = field(default_factory=dict)  # memory key -> smallest batch that failed

    def predict(self, params: Params, batch: int) -> float:
        """Predicted peak bytes of a batch (resident included)."""
        pixels, branches = _memory_key(params)
        return self.resident + self.fixed + batch * self.bytes_per_unit * pixels * branches

    def largest(self, params: Params) -> int:
        """The largest batch predicted to fit (at least 1: the smallest call is always tried)."""
        pixels, branches = _memory_key(params)
        room = (self.ceiling - self.resident) / self.safety - self.fixed
        batch = int(room // (self.bytes_per_unit * pixels * branches))
        limit = self.limits.get(_memory_key(params))
        if limit is not None:
            batch = min(batch, limit - 1)
        return max(1, batch)

    def observe(self, params: Params, batch: int, peak: int) -> None:
        """A measured peak (resident included) of a batch at `params`."""
        pixels, branches = _memory_key(params)
        self.observed[batch * pixels * branches] = max(0, peak - self.resident)
        units = sorted(self.observed)
        if len(units) >= 2:
            u0, u1 = units[-2:]
            slope = (self.observed[u1] - self.observed[u0]) / (u1 - u0)
            if slope > 0:
                self.bytes_per_unit = slope
                self.fixed = max(0.0, self.observed[u1] - slope * u1)
        else:
            self.bytes_per_unit = max(1.0, self.observed[units[0]] / units[0])

    def too_big(self, params: Params, batch: int) -> None:
        """`batch` ran out of memory at `params`: never try it (or more) again."""
        key = _memory_key(params)
        self.limits[key] = min(batch, self.limits.get(key, batch))


@dataclass(frozen=True)
class WarmUp:
    """What a warm-up did: how long it took, which buckets it compiled, their measured peaks."""

    seconds: float
    buckets: tuple[int, ...]
    peaks: dict[int, int]
    cache_loaded: bool
    cache_saved: Path | None


class Accelerator:
    """The acceleration state of one loaded pipeline (shared by every Renderer of a profile)."""

    def __init__(self, pipe, device: torch.device, options: Acceleration, memory_budget: int) -> None:
        """Apply `options` to `pipe` (in place). Off CUDA the ceiling is `memory_budget`."""
        self.pipe, self.device = pipe, device
        self.options = options.resolved(device)
        self.unet = pipe.unet  # the eager module, for renders with LoRA adapters
        self.compiled_unet = None  # its compiled wrapper (graphs kept while adapters render eager)
        self.compiled = False
        self.cache_loaded = False
        self._apply()
        if device.type == "cuda":
            total = torch.cuda.get_device_properties(device).total_memory
            ceiling = min(total, int(self.options.memory_ceiling_gib * GIB))
            if self.options.enforce_ceiling:
                torch.cuda.set_per_process_memory_fraction(ceiling / total, device)
            self.memory = MemoryModel(ceiling, torch.cuda.memory_allocated(device), SAFETY)
        else:
            self.memory = MemoryModel(memory_budget)

    # --- set-up ------------------------------------------------------------------------

    def _apply(self) -> None:
        opts, pipe = self.options, self.pipe  # attention is SDPA already: diffusers' default on torch 2
        if opts.fuse_qkv:
            pipe.fuse_qkv_projections(unet=True, vae=True)
        if opts.channels_last:
            pipe.unet.to(memory_format=torch.channels_last)
            pipe.vae.to(memory_format=torch.channels_last)
        if opts.compile:
            if opts.compile_cache is not None:
                self.cache_loaded = load_compile_cache(opts.compile_cache, self.device)
            # one static graph per (bucket, resolution): room for several resolutions
            config = torch._dynamo.config
            name = "recompile_limit" if hasattr(config, "recompile_limit") else "cache_size_limit"
            setattr(config, name, max(getattr(config, name), 8 * len(opts.buckets)))
            mode = "reduce-overhead" if opts.cuda_graphs else None
            self.compiled_unet = torch.compile(self.unet, mode=mode, dynamic=False)
            pipe.unet = self.compiled_unet
            self.compiled = True

    def to_eager(self) -> None:
        """The plain pipeline while LoRA adapters render (`restore` undoes it)."""
        if self.compiled:
            self.pipe.unet = self.unet
            self.compiled = False
        if getattr(self.pipe, "fusing_unet", False) or getattr(self.pipe, "fusing_vae", False):
            self.pipe.unfuse_qkv_projections(unet=self.pipe.fusing_unet, vae=self.pipe.fusing_vae)

    def restore(self) -> None:
        """Fused and compiled again as the options ask (after the adapters were unloaded)."""
        if self.options.fuse_qkv and not getattr(self.pipe, "fusing_unet", False):
            self.pipe.fuse_qkv_projections(unet=True, vae=True)
        if self.compiled_unet is not None and not self.compiled:
            self.pipe.unet = self.compiled_unet
            self.compiled = True

    # --- batching ----------------------------------------------------------------------

    def max_batch(self, params: Params) -> int:
        """The largest call predicted to fit under the ceiling (a bucket when compiled)."""
        largest = self.memory.largest(params)
        if self.compiled:
            return max([b for b in self.options.buckets if b <= largest], default=self.options.buckets[0])
        return largest

    def batches(self, n: int, params: Params) -> list[int]:
        """Sizes of the pipeline calls for `n` renders: buckets (compiled) or plain chunks."""
        cap = self.max_batch(params)
        if self.compiled:
            sizes = [b for b in self.options.buckets if b <= cap]
            return chunk_sizes(n, sizes, self.options.call_cost_images)
        return [min(cap, n - start) for start in range(0, n, cap)]

    # --- warm-up -----------------------------------------------------------------------

    def warm_up(self, render: Callable[[int, Params], None], params: Params, steps: int = 2) -> WarmUp:
        """Run every bucket that fits, smallest first (compiled), or the smallest and the
        largest batch that fits (eager on CUDA): compiles each graph once, measures the peaks
        that refine the memory model, and persists the compile cache if it grew. Off CUDA
        and uncompiled there is nothing to do.

        `render(batch, params)` renders and embeds `batch` throwaway images.
        """
        started = time.perf_counter()
        if not self.compiled and self.device.type != "cuda":  # nothing to compile, nothing to measure
            return WarmUp(0.0, (), {}, False, None)
        params = replace(params, steps=steps)  # graphs and memory do not depend on the step count
        misses = _cache_misses()
        peaks: dict[int, int] = {}
        done: list[int] = []
        for size in self.options.buckets:
            if not self.compiled and len(done) == 1:  # eager: a second point for the fit, the largest that fits
                size = max(size, min(self.memory.largest(params), self.options.buckets[-1]))
            if size > self.memory.largest(params):  # refined by each measured peak
                break
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
                torch.cuda.reset_peak_memory_stats(self.device)
            render(size, params)
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
                peaks[size] = torch.cuda.max_memory_allocated(self.device)
                self.memory.observe(params, size, peaks[size])
            done.append(size)
            if not self.compiled and len(done) == 2:
                break
        saved = None
        if self.compiled and self.options.compile_cache is not None and _cache_misses() > misses:
            saved = save_compile_cache(self.options.compile_cache, self.device)
        return WarmUp(time.perf_counter() - started, tuple(done), peaks, self.cache_loaded, saved)


# --- the compile cache --------------------------------------------------------------------


def _cache_misses() -> int:
    from torch._dynamo.utils import counters

    return sum(counters["inductor"].get(k, 0) for k in ("fxgraph_cache_miss", "fxgraph_cache_bypass"))


def compile_cache_file(folder: Path, device: torch.device) -> Path:
    """One cache file per torch version and device model: kernels are specific to both."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", f"torch{torch.__version__}-{name}").strip("-").lower()
    return Path(folder) / f"compile-cache-{slug}.bin"


def load_compile_cache(folder: Path, device: torch.device) -> bool:
    """Hot-load a persisted compile cache; a missing or unreadable one just means compiling."""
    path = compile_cache_file(folder, device)
    if not path.is_file():
        return False
    try:
        torch.compiler.load_cache_artifacts(path.read_bytes())
    except Exception as exc:  # noqa: BLE001 - a stale or foreign cache costs a compile, nothing more
        log.warning("compile cache %s not loaded: %s", path, exc)
        return False
    return True


def save_compile_cache(folder: Path, device: torch.device) -> Path | None:
    """Write this process's compile artifacts (atomically: a reader sees the old file or the new)."""
    artifacts = torch.compiler.save_cache_artifacts()
    if artifacts is None:
        return None
    path = compile_cache_file(folder, device)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".compile-cache-", dir=path.parent)
    with os.fdopen(fd, "wb") as handle:
        handle.write(artifacts[0])
    os.replace(tmp, path)
    return path
