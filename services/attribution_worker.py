"""Attribution worker logic: admitted generation events → signed attribution results.

No Kafka here and no database: the stream runner (`services.runners`) feeds batches in,
and the registry arrives as lookups. Events of one batch are attributed together per
model profile, so their coalition renders share pipeline batches on the GPU.

A result is signed by the worker's own Ed25519 key (canonical JSON, like platform
events); the ledger writer books only results signed by a registered worker key. The
attribution id is derived from the event id and body, so re-attributing a redelivered
event yields the same id.
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fairsplit.attribute import AttributionConfig, attribute_many, check_request
from fairsplit.gallery import Gallery
from fairsplit.profiles import Models, load_profile
from fairsplit.render import Renderer
from fairsplit.request import AttributionRequest, ImageEmbedding, Params, Style
from fairsplit.result import AttributionResult
from services.admission import Admitted
from services.contracts import GenerationEventV1, parse_result
from services.signing import generate_private_key, key_id, load_private_key, private_key_pem, sign_event

log = logging.getLogger("fairsplit.worker")

ATTRIBUTION_NAMESPACE = uuid.UUID("5b0e8c5e-3f57-4d0c-9a43-2a8f6e1c7d20")
WORKER_KEY_FILE = "attribution-worker.pem"
WORKER_ROLE = "attribution-worker"
#: event fields left out of the result's copy of the event (bulky; `event_sha256` covers them)
UNRECORDED = ("image", "image_embedding", "signature")

#: artist ids → (gallery vector, count, embedder id), from the registry.
GalleryLookup = Callable[[list[str]], Mapping[str, tuple[Sequence[float], int, str]]]


@dataclass(frozen=True)
class WorkerKey:
    private_key: Ed25519PrivateKey
    key_id: str

    @property
    def public_key(self):
        return self.private_key.public_key()


def load_or_create_worker_key(key_dir: str | Path) -> tuple[WorkerKey, bool]:
    """The worker's signing key from `key_dir` (created with 0600 permissions if absent).

    Workers started together on one key folder (one per GPU) agree on one key: each writes
    a complete candidate to a private file and links it into place; a link that finds the
    key already there loses, and that process loads the winner's key."""
    folder = Path(key_dir)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / WORKER_KEY_FILE
    created = False
    if not path.exists():
        fd, candidate = tempfile.mkstemp(prefix=".worker-key-", dir=folder)  # 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(private_key_pem(generate_private_key()))
            os.link(candidate, path)
            created = True
        except FileExistsError:
            pass
        finally:
            os.unlink(candidate)
    private = load_private_key(path)
    return WorkerKey(private, key_id(private.public_key())), created


def to_request(event: GenerationEventV1) -> AttributionRequest:
    """The attribution core's view of a platform event."""
    return AttributionRequest(
        model_id=event.model.id,
        content=event.content,
        styles=tuple(
            Style(s.artist_id, s.phrase or "", s.lora.id if s.lora else None) for s in event.styles
        ),
        seed=event.seed,
        params=Params(event.params.steps, event.params.guidance, event.params.width, event.params.height),
        image_png=event.image.png_bytes if event.image else None,
        event_id=event.event_id,
        image_embedding=(
            ImageEmbedding(event.image_embedding.values, event.image_embedding.model.id,
                           event.image_embedding.model.revision)
            if event.image_embedding else None
        ),
    )


def attribution_id(event_id: str, body_sha256: str) -> str:
    return str(uuid.uuid5(ATTRIBUTION_NAMESPACE, f"{event_id}|{body_sha256}"))


def result_record(admitted: Admitted, result: AttributionResult, key: WorkerKey) -> dict[str, Any]:
    """The `fairsplit.attribution.v1` record of one attribution, signed by the worker."""
    event = admitted.event
    method = result.method
    record = {
        "schema": "fairsplit.attribution.v1",
        "event_id": event.event_id,
        "attribution_id": attribution_id(event.event_id, admitted.body_sha256),
        "platform_id": event.platform_id,
        "occurred_at": admitted.body["occurred_at"],
        "model": {"id": event.model.id, "revision": event.model.revision},
        "content": event.content,
        "method": {
            "estimator": method.estimator,
            "value_function": method.value_function,
            "profile": method.profile,
            "models": {
                "generator": {"id": method.generator.id, "revision": method.generator.revision},
                "embedder": {"id": method.embedder.id, "revision": method.embedder.revision},
            },
            "tau": method.tau,
            "budget": method.budget,
            "approximate": method.approximation,
            "test_model": method.test_model,
        },
        "players": [
            {"id": p.id, "account": p.account, "kind": p.kind, "recognised": p.recognised, "uplift": p.uplift}
            for p in result.players
        ],
        "values": [{"players": list(c.members), "value": c.value} for c in result.coalitions],
        "shares": result.shares,
        "clamped": result.clamped,
        "std_errors": result.stderr,
        "reward": {"amount": event.reward.amount, "currency": event.reward.currency},
        "event_sha256": admitted.body_sha256,
        "event": {k: v for k, v in admitted.body.items() if k not in UNRECORDED},
        "worker_key_id": key.key_id,
    }
    record = {k: v for k, v in record.items() if v is not None}
    record["method"] = {k: v for k, v in record["method"].items() if v is not None}
    for player in record["players"]:
        if player["uplift"] is None:
            del player["uplift"]
    signed = sign_event(record, key.private_key)
    parse_result(signed)  # never publish what the ledger writer would refuse
    return signed


@dataclass
class Attributor:
    """Attribute a batch of admitted events: one `attribute_many` call per model profile.

    Two stages, so that the stream can overlap them (`services.runners`): `compute` is the
    accelerator's work (renders, embeddings, Shapley) and `finish` the CPU's (the signed
    record). Calling the attributor runs both (the `ingest` command does).
    """

    galleries: GalleryLookup
    key: WorkerKey
    config: AttributionConfig = AttributionConfig()
    load: Callable[[str], Models] = load_profile
    renderers: dict[str, Renderer] = field(default_factory=dict)  # one per profile: keeps its render cache

    def compute(self, batch: Sequence[Admitted]) -> list[AttributionResult | ValueError]:
        """One result per event, in order; an event its profile's models refuse
        (`check_request`: one sentence) gets that error and the others are attributed."""
        by_profile: dict[str, list[int]] = defaultdict(list)
        for index, admitted in enumerate(batch):
            by_profile[admitted.profile].append(index)
        out: list[AttributionResult | ValueError | None] = [None] * len(batch)
        for profile, indices in by_profile.items():
            renderer = self.prepare(profile)
            models = renderer.models
            requests = {}
            for i in indices:
                try:
                    requests[i] = to_request(batch[i].event)
                    check_request(requests[i], models)
                except ValueError as exc:
                    out[i] = exc
            attributable = [i for i in indices if out[i] is None]
            if not attributable:
                continue
            wanted = sorted({s.artist_id for i in attributable for s in batch[i].event.styles})
            stored = {
                artist: Gallery(np.asarray(vector, dtype=np.float32), count, model_id)
                for artist, (vector, count, model_id) in self.galleries(wanted).items()
            }
            results = attribute_many([requests[i] for i in attributable], models, stored, self.config, renderer)
            for i, result in zip(attributable, results):
                out[i] = result
        return out  # type: ignore[return-value]

    def prepare(self, profile: str) -> Renderer:
        """The profile's renderer; the first time, load the models and warm them up (compile
        every batch bucket, from the persisted cache if there is one), so that no event
        pays for a compile. A worker may call it for its profiles before it consumes."""
        if profile not in self.renderers:
            models = self.load(profile)
            renderer = Renderer(models)
            warm = renderer.warm_up()
            log.info("renderer ready", extra={"profile": profile, "warm_up_s": round(warm.seconds, 1),
                                              "buckets": list(warm.buckets), "compile_cache_loaded": warm.cache_loaded})
            self.renderers[profile] = renderer
        return self.renderers[profile]

    def finish(self, admitted: Admitted, result: AttributionResult) -> dict[str, Any]:
        """The signed `fairsplit.attribution.v1` record of one computed attribution."""
        return result_record(admitted, result, self.key)

    def __call__(self, batch: Sequence[Admitted]) -> list[dict[str, Any]]:
        computed = self.compute(batch)
        for result in computed:
            if isinstance(result, Exception):
                raise result
        return [self.finish(admitted, result) for admitted, result in zip(batch, computed)]
