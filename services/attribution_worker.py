"""Attribution worker logic: admitted generation events → signed attribution results.

No Kafka here and no database: the stream (`services.runners`, or `services.ingest` for a
file) feeds batches in, and the registry arrives as lookups. Events of one batch are
attributed together per model profile, so their coalition renders share pipeline batches
on the GPU.

A result is signed by the worker's own Ed25519 key (canonical JSON, like platform
events) and carries the platform's signed event as received, so the ledger writer books
only results signed by an enrolled worker key *and* backed by the platform's signature.
The worker's key is created and enrolled by an operator (`fairsplit keys enroll
attribution-worker`), never by the worker itself. The attribution id is derived from the
event id and body, so re-attributing a redelivered event yields the same id.

Two stages, so that the stream can overlap them: `WorkerTask` (admission, the skip of
recorded events, and the accelerator's work: renders, embeddings, Shapley) runs in the
stream's task thread; `WorkerTask.finish` (the signed, encoded record: CPU) runs in the
loop's thread while the next batch renders.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fairsplit.attribute import AttributionConfig, attribute_many, check_request
from fairsplit.mixing import make_work, parse_work_id
from fairsplit.profiles import Models, load_profile
from fairsplit.render import Renderer
from fairsplit.request import AttributionRequest, Gallery, ImageEmbedding, Params, Style, Work
from fairsplit.result import AttributionResult
from ledger.crypto import key_id, read_private_key
from ledger.invariants import invariant
from services.admission import Admitted, Rejected
from services.contracts import GenerationEventV1, attribution_id, parse_result
from services.signing import sign_event
from services.stream import Computed, Done, Failure, Message, Outcome, Produce

log = logging.getLogger("fairsplit.worker")

WORKER_KEY_FILE = "attribution-worker.pem"

#: artist ids → their stored galleries, from the registry.
GalleryLookup = Callable[[list[str]], Mapping[str, Gallery]]


@dataclass(frozen=True)
class WorkerKey:
    private_key: Ed25519PrivateKey
    key_id: str

    @property
    def public_key(self):
        return self.private_key.public_key()


def worker_key_path(key_dir: str | Path) -> Path:
    return Path(key_dir) / WORKER_KEY_FILE


def load_worker_key(key_dir: str | Path) -> WorkerKey:
    """The worker's signing key from `key_dir` (0600, refused otherwise); never created here."""
    private = read_private_key(worker_key_path(key_dir))
    return WorkerKey(private, key_id(private.public_key()))


WorkLookup = Callable[[str, int], "bytes | None"]  # (artist id, n) → the PNG of a registered work, or None


def to_request(event: GenerationEventV1, work_of: WorkLookup | None = None) -> AttributionRequest:
    """The attribution core's view of a platform event; `work_of(artist, n)` gives the PNG
    of a registered work its mixes name (image mixing). A work that cannot be had is a
    `ValueError` in one sentence (the event is refused)."""
    return AttributionRequest(
        model_id=event.model.id,
        content=event.content,
        styles=tuple(
            Style(s.artist_id, s.phrase or "", s.lora.id if s.lora else None, _work(s, work_of)) for s in event.styles
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


def _work(style, work_of: WorkLookup | None) -> Work | None:
    """The checked work a style mixes (`fairsplit.mixing.make_work`), or None."""
    mix = style.mix
    if mix is None:
        return None
    if mix.png_base64 is not None:
        return make_work(style.artist_id, mix.png_bytes, mix.weight)
    artist, index = parse_work_id(mix.work_id)
    png = work_of(artist, index) if work_of else None
    if png is None:
        raise ValueError(f"the event mixes work {mix.work_id}, which is not registered")
    return make_work(style.artist_id, png, mix.weight, mix.work_id)


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
            "value_correction": method.value_correction,
            "value_floor": result.floor,
            "test_world": method.test_world,
        },
        "players": [
            {"id": p.id, "account": p.account, "kind": p.kind, "recognised": p.recognised, "uplift": p.uplift,
             **({"group": p.group} if p.group else {})}
            for p in result.players
        ],
        "values": [{"players": list(c.members), "value": c.value} for c in result.coalitions],
        "shares": result.shares,
        "clamped": result.clamped,
        "std_errors": result.stderr,
        "reward": {"amount": event.reward.amount, "currency": event.reward.currency},
        "event_sha256": admitted.body_sha256,
        "event": admitted.body,  # as signed by the platform: the writer checks that signature again
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
    works: WorkLookup | None = None  # registered works by (artist, n), for events that mix them
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
                    requests[i] = to_request(batch[i].event, self.works)
                    check_request(requests[i], models)
                except ValueError as exc:
                    out[i] = exc
            attributable = [i for i in indices if out[i] is None]
            if not attributable:
                continue
            wanted = sorted({s.artist_id for i in attributable for s in batch[i].event.styles})
            results = attribute_many([requests[i] for i in attributable], models, self.galleries(wanted),
                                     self.config, renderer)
            for i, result in zip(attributable, results, strict=True):
                out[i] = result
        invariant(all(result is not None for result in out), "every admitted event has a result or a refusal")
        return out

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
        """Both stages at once: the signed records (an event the models refuse raises)."""
        computed = self.compute(batch)
        for result in computed:
            if isinstance(result, Exception):
                raise result
        return [self.finish(admitted, result) for admitted, result in zip(batch, computed, strict=True)]


def encode_record(record: dict[str, Any]) -> bytes:
    """A signed record as it goes on the wire: compact UTF-8 JSON."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class WorkerTask:
    """The attribution worker's transform, for the broker and for `ingest` alike:
    admit each event (a refusal is that message's failure), skip what the ledger already
    recorded (no GPU time for a redelivery: the same body is done, another body under the
    same id is refused — the first one stands), attribute the rest together. Its outcomes
    are `Computed`: `finish` signs and encodes them, in the stream's loop thread, while the
    next batch renders."""

    admit: Callable[[bytes], Admitted]
    recorded: Callable[[list[str]], Mapping[str, str]]  # event ids → body hash of the recorded ones
    attributor: Attributor

    def __call__(self, messages: list[Message]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(messages)
        admitted: list[tuple[int, Admitted]] = []
        for index, message in enumerate(messages):
            try:
                admitted.append((index, self.admit(message.payload)))
            except Rejected as exc:
                outcomes[index] = Failure.of(exc)
        known = self.recorded([a.event.event_id for _, a in admitted]) if admitted else {}
        todo: list[tuple[int, Admitted]] = []
        for index, event in admitted:
            body = known.get(event.event.event_id)
            if body is None:
                todo.append((index, event))
            elif body == event.body_sha256:
                outcomes[index] = Done("duplicate")
            else:
                outcomes[index] = Failure(f"event {event.event.event_id} is already recorded with a different body; "
                                          "the first one stands.", "Conflict")
        computed = self.attributor.compute([event for _, event in todo]) if todo else []
        for (index, event), result in zip(todo, computed, strict=True):
            outcomes[index] = Failure.of(result) if isinstance(result, Exception) else Computed((event, result))
        invariant(all(outcome is not None for outcome in outcomes), "every event has an outcome")
        return outcomes

    def finish(self, message: Message, value: tuple[Admitted, AttributionResult]) -> Outcome:
        """The signed, encoded result of one computed event."""
        admitted, result = value
        return Produce(encode_record(self.attributor.finish(admitted, result)))
