"""The results file, with no dependency beyond the standard library (the GPU benchmark runs
on a machine without the ledger's database drivers)."""

from __future__ import annotations

import os
import platform
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def record(title: str, shown: str) -> None:
    """Append one row to bench/RESULTS.md: date, machine, command, figures (as text)."""
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\n| date | machine | command | figures |\n| --- | --- | --- | --- |\n")
    machine = f"{platform.machine()} {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}"
    command = "python " + shlex.join(["bench/" + Path(sys.argv[0]).name, *sys.argv[1:]])
    with RESULTS.open("a") as handle:
        handle.write(f"| {datetime.now(UTC):%Y-%m-%d %H:%M} | {machine} | `{command}` | {title}: {shown} |\n")
