"""The offline demo: a platform, three artists with generated galleries, signed sample events.

Everything runs on the `tiny` test profile (model id `tiny-sd`), so shares mean nothing;
the point is the whole path — signed events through the broker, attribution, the ledger —
working on a laptop with no GPU and no network.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fairsplit.profiles import Models
from fairsplit.render import RenderJob, Renderer
from fairsplit.request import Params
from services.signing import sign_event

DEMO_PLATFORM = "demo-platform"
DEMO_MODEL = "tiny-sd"
DEMO_PARAMS = {"steps": 4, "guidance": 5.0, "width": 64, "height": 64}


@dataclass(frozen=True)
class DemoArtist:
    artist_id: str
    name: str
    phrase: str


DEMO_ARTISTS = (
    DemoArtist("van-gogh", "Vincent van Gogh", "by Van Gogh"),
    DemoArtist("hokusai", "Katsushika Hokusai", "in the style of Hokusai"),
    DemoArtist("klimt", "Gustav Klimt", "by Gustav Klimt"),
)
CONTENTS = ("an image of a man", "a harbour at dawn", "a cat asleep on a chair", "a mountain village")


def render_gallery(models: Models, artist: DemoArtist, folder: Path, count: int = 4) -> Path:
    """Write `count` PNGs of the artist's style phrase rendered by the model: stand-ins for
    their reference works (the tiny model has no real artists to show)."""
    folder.mkdir(parents=True, exist_ok=True)
    params = Params(**DEMO_PARAMS)
    images = Renderer(models).render([RenderJob(artist.phrase, 100 + i, params) for i in range(count)])
    for i, image in enumerate(images):
        image.save(folder / f"{artist.artist_id}-{i}.png")
    return folder


def sample_event(rng: random.Random, platform_id: str = DEMO_PLATFORM, when: datetime | None = None) -> dict[str, Any]:
    """One unsigned `fairsplit.generation.v1` event naming 1–3 demo artists."""
    artists = rng.sample(DEMO_ARTISTS, rng.randint(1, len(DEMO_ARTISTS)))
    content = rng.choice(CONTENTS)
    when = when or datetime.now(UTC)
    return {
        "schema": "fairsplit.generation.v1",
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "platform_id": platform_id,
        "occurred_at": (when - timedelta(seconds=rng.randint(0, 3600))).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model": {"id": DEMO_MODEL, "revision": "tiny-v1"},
        "content": content,
        "styles": [{"artist_id": a.artist_id, "phrase": a.phrase} for a in artists],
        "prompt": ", ".join([content] + [a.phrase for a in artists]),
        "seed": rng.randint(0, 2**31 - 1),
        "params": dict(DEMO_PARAMS),
        "reward": {"amount": rng.choice(["0.004", "0.01", "0.025", "0.1"]), "currency": "USD"},
    }


def sample_events(n: int, key: Ed25519PrivateKey, platform_id: str = DEMO_PLATFORM, seed: int | None = None) -> list[dict[str, Any]]:
    """`n` signed sample events (a fixed `seed` gives the same events every time)."""
    rng = random.Random(seed)
    return [sign_event(sample_event(rng, platform_id), key) for _ in range(n)]
