"""The tests' demo world: the README's demo, for real — `fairsplit up --demo` (tiny test
models, a real broker, both services), then demo events dated last month ingested through
the same checks and attribution, and last month closed — so artists have rewards with
recorded splits, payouts, statements and signed checkpoints. Built once per session (the
`world` fixture, tests/conftest.py): the portal tests read it, and tests/pipeline/test_pipe_demo.py
checks what `up --demo` printed (`World.demo`) instead of running the demo a second time.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO_EVENTS = 2  # what `up --demo --events` emits and records


@dataclass(frozen=True)
class World:
    folder: Path
    period: str  # last month, closed
    demo: subprocess.CompletedProcess | None = field(default=None, compare=False)  # `up --demo`, as it ran

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.folder / 'fairsplit.db'}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRSPLIT_")}
        env.update(HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT), COLUMNS="120",
                   FAIRSPLIT_MODEL_CACHE=os.environ.get("FAIRSPLIT_MODEL_CACHE", ""))
        return {k: v for k, v in env.items() if v != ""}

    def cli(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], cwd=self.folder, env=self.env(),
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"fairsplit {' '.join(args)} failed: {result.stdout}{result.stderr}")
        return result


def build_world(folder: Path, events: int = 16) -> World:
    """`events`: enough rewards last month that every demo artist clears the 0.01 USD minimum
    payout whatever split the tiny random models give (16: 0.05–0.06 USD each, the model 0.63)."""
    this_month = datetime.now(UTC).replace(day=1, hour=12, minute=0, second=0, microsecond=0)
    last_month = (this_month - timedelta(days=1)).replace(day=1, hour=12)
    world = World(folder, last_month.strftime("%Y-%m"))
    world = replace(world, demo=world.cli("up", "--demo", "--events", str(DEMO_EVENTS), "--json"))
    from ledger.crypto import read_private_key
    from services.demo import DEMO_PLATFORM, sample_event
    from services.signing import sign_event

    key = read_private_key(folder / "keys" / f"{DEMO_PLATFORM}.platform.pem")
    rng = random.Random(2026)
    with open(folder / "last-month.jsonl", "w") as out:
        for n in range(events):
            body = sample_event(rng, DEMO_PLATFORM, last_month + timedelta(days=n, hours=n % 5))
            out.write(json.dumps(sign_event(body, key)) + "\n")
    world.cli("ingest", "last-month.jsonl")
    world.cli("payouts", "close", world.period, "--min-payout", "0.01")
    world.cli("ledger", "checkpoint")
    return world
