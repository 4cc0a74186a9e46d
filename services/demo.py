"""The offline demo: a platform, three artists with generated galleries, signed sample events.

Everything runs on the `tiny` test profile (model id `tiny-sd`), so shares mean nothing;
the point is the whole path — signed events through the broker, attribution, the ledger —
working on a laptop with no GPU and no network. The model stack is imported only where the
galleries are rendered: `emit --sample` and a plain `up` sign events without it.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fairsplit.request import Params
from sqlalchemy.engine import Engine

from fairsplit.sources import ModelSources
from ledger.views.accounts import paid_by_test_models
from ledger.crypto import generate_private_key, public_key_pem, read_private_key, write_private_key
from ledger.keys.signing import load_signer
from ledger.parties.registry import (WORKER_ROLE, RegistryError, active_platform_keys, add_artist, add_platform,
                             enroll_service_key)
from ledger.books.store import Ledger
from ledger.audit.chain import VerifyReport, verify_ledger
from services.signing import sign_event

if TYPE_CHECKING:
    from fairsplit.profiles import Models

DEMO_PLATFORM = "demo-platform"
DEMO_MODEL = "tiny-sd"
#: The tiny models' own size (32 px, the smallest an event may ask for): a demo event is
#: rendered 2^(artists+1) times, and 64 px cost four times as much for nothing a random model shows.
DEMO_PARAMS = {"steps": 4, "guidance": 5.0, "width": 32, "height": 32}


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
    from fairsplit.render import RenderJob, Renderer

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
        "reward": {"amount": rng.choice(["0.01", "0.02", "0.05", "0.10"]), "currency": "USD"},
    }


def sample_events(n: int, key: Ed25519PrivateKey, platform_id: str = DEMO_PLATFORM, seed: int | None = None) -> list[dict[str, Any]]:
    """`n` signed sample events (a fixed `seed` gives the same events every time)."""
    rng = random.Random(seed)
    return [sign_event(sample_event(rng, platform_id), key) for _ in range(n)]


def setup_demo(engine: Engine, key_dir: Path, state_dir: Path, sources: ModelSources) -> Ed25519PrivateKey:
    """Register the demo platform (its key in `key_dir`), enrol the attribution worker's key
    (created in `key_dir` if missing) and register the demo artists with galleries rendered
    by the tiny model; returns the platform's private key. Running the demo is the
    operator's explicit consent to trust these keys; nothing else enrols a key."""
    from fairsplit.gallery import embed_gallery, gallery_thumbnails
    from fairsplit.profiles import load_profile
    from services.attribution_worker import worker_key_path

    key_path = Path(key_dir) / f"{DEMO_PLATFORM}.platform.pem"
    if not key_path.exists():
        if DEMO_PLATFORM in active_platform_keys(engine):
            raise RegistryError(f"{DEMO_PLATFORM} is registered but its key {key_path} is missing; "
                                "start a new demo with --fresh.")
        write_private_key(key_path, generate_private_key())
    private = read_private_key(key_path)
    ledger = Ledger(engine, load_signer(str(key_dir), engine))  # registrations are log entries
    add_platform(ledger, DEMO_PLATFORM, public_key_pem(private.public_key()).decode())
    worker_path = worker_key_path(key_dir)
    if not worker_path.exists():
        write_private_key(worker_path, generate_private_key())
    enroll_service_key(ledger, WORKER_ROLE, public_key_pem(read_private_key(worker_path).public_key()).decode())
    models = load_profile("tiny", sources)
    for artist in DEMO_ARTISTS:
        folder = render_gallery(models, artist, Path(state_dir) / "galleries" / artist.artist_id)
        gallery = embed_gallery(folder, models)
        add_artist(engine, artist.artist_id, artist.name, gallery.vector.tolist(), gallery.count, gallery.model_id,
                   gallery_thumbnails(folder))
    return private


@dataclass(frozen=True)
class DemoOutcome:
    """What a demo run left in the ledger: the demo accounts' balances (running totals of
    the database), whether the ledger verifies, and whether a test model split the events."""

    balances: list[tuple[str, str, int]]  # (account, currency, micro-units), by account then currency
    verified: VerifyReport
    test_model: bool


def demo_outcome(ledger: Ledger, event_ids: list[str]) -> DemoOutcome:
    accounts = [f"artist:{a.artist_id}" for a in DEMO_ARTISTS] + [f"model:{DEMO_MODEL}", f"platform:{DEMO_PLATFORM}"]
    rows = [(a, c, m) for a in accounts for c, m in sorted(ledger.balance(a).items())]
    return DemoOutcome(rows, verify_ledger(ledger.engine), paid_by_test_models(ledger.engine, event_ids=event_ids))
