"""The benchmarks' smoke modes run the same code as the real measurements, on a CPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_attribution_smoke_mode_runs_the_fairsplit_path_and_the_naive_loop_on_cpu():
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "2"}
    done = subprocess.run(
        [sys.executable, "bench/gpu_attribution.py", "--device", "cpu", "--tiny", "--artists", "1,2",
         "--events", "2", "--no-record"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if "artist(s): fairsplit" in line]
    assert len(lines) == 2 and all("naive stock-pipeline loop" in line for line in lines)


def test_gpu_attribution_without_cuda_says_so_and_exits_cleanly():
    import torch

    if torch.cuda.is_available():
        return
    done = subprocess.run([sys.executable, "bench/gpu_attribution.py", "--no-record"], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "no CUDA device" in done.stderr
