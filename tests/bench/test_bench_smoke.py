"""The benchmarks' smoke modes run the same code as the real measurements, on a CPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_gpu_attribution_smoke_mode_runs_every_row_on_cpu():
    """fairsplit (and with the event's embedding, and mixing works), tuned and competent stock scripts, the
    fp32 loop, the matmul reference, the warm start of a fresh process: all on the tiny models.
    The tuned row compiles with dynamo's eager backend here (inductor on a CPU takes minutes)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "bench/gpu_attribution.py", "--device", "cpu", "--tiny", "--artists", "2",
         "--events", "2", "--fp32-loop", "--compile-backend", "eager", "--no-record"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if "artist(s): fairsplit" in line and "| " in line]
    assert len(lines) == 1  # one line per artist count asked for
    for line in lines:
        for row in ("of the matmul limit", "fairsplit, event brings embedding", "fairsplit, image mixing",
                    "tuned stock", "competent stock", "fp32 loop"):
            assert row in line, (row, line)
    assert "matmul (float32 512³)" in done.stdout and "one render:" in done.stdout
    assert "warm start of a fresh process to its first event" in done.stdout


def test_gpu_attribution_without_cuda_says_so_and_exits_cleanly():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: this test is about a machine without one")
    done = subprocess.run([sys.executable, "bench/gpu_attribution.py", "--no-record"], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "no CUDA device" in done.stderr


@pytest.mark.slow
def test_fidelity_quick_mode_prints_every_figure_beside_its_goal():
    """bench/fidelity.py on the test world, a few cases per figure, both value functions."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "bench/fidelity.py", "--quick", "--no-record", "--threads", "1"],
                          cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = [line for line in done.stdout.splitlines() if "(goal:" in line]
    assert len(figures) == 9
    assert all("floor " in line for line in figures)  # the default value function, always
    # each figure beside the paper's value function, or (the rules this bench measures) before and after them
    assert all("none " in line or ("before" in line and "after" in line) for line in figures)
    # the opt-in rules beside the defaults: the soft recognizability gate, the padding rule
    monotone = next(line for line in figures if line.startswith("monotone"))
    padding = next(line for line in figures if line.startswith("padding"))
    assert "floor soft gate" in monotone and "floor soft gate" in padding and "floor after, words kept" in padding
    # each padding column with its mean signed move (does padding steer the share, or only jitter it?)
    assert padding.count("mean Δ") == padding.count("% ok") == 5


@pytest.mark.slow  # real processes or real compute, seconds
def test_scale_quick_mode_closes_verifies_and_proves_on_both_backends():
    """bench/scale.py --quick: three months on PostgreSQL and SQLite through the writer's append
    path; every figure of the full run is printed next to its reference."""
    import re

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "bench/scale.py", "--quick", "--no-record"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if " entries, 3 months, 60 artists" in line}
    assert set(lines) == {"postgresql", "sqlite"}
    assert "raw COPY" in lines["postgresql"]
    for line in lines.values():
        assert "last/first time" in line and "(goal <= 1.2)" in line
        counts = re.search(r"\(([\d,]+) entries\) vs full verify [\d.]+ s \(([\d,]+) entries\)", line).groups()
        since, full = (int(count.replace(",", "")) for count in counts)
        assert 0 < since < full / 2
        assert int(re.search(r"bundle of artist:a00 ([\d,]+) entries", line).group(1).replace(",", "")) > 0


@pytest.mark.slow
def test_fidelity_mixing_quick_mode_prints_every_figure_beside_its_goal():
    """bench/fidelity_mixing.py on the test world and its IP-Adapter, a few cases per figure."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "bench/fidelity_mixing.py", "--quick", "--no-record", "--threads", "1"],
                          cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = [line for line in done.stdout.splitlines() if "(goal:" in line]
    assert [line.split(",")[0] for line in figures] == [
        "two known artists mixed: both recognised and paid", "unknown artist's work recognised from its image",
        "plain image under an artist's id not paid", "another artist's work under an id not paid"]
    assert all("%" in line for line in figures)
    assert all("by the uplift test alone" in line for line in figures[2:])  # each beside its reference
