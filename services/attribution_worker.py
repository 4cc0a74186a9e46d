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

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fairsplit.request import AttributionConfig, Gallery
from fairsplit.result import AttributionResult
from ledger.crypto import canonical_text, key_id, read_private_key
from ledger.invariants import invariant
from services.admission import Admitted
from services.attribution_record import WorkerKey, WorkLookup, result_record, to_request
from services.stream import Computed, Done, Failure, Message, Outcome, Produce, Rejected

if TYPE_CHECKING:  # the model stack (torch, diffusers) is imported on the first event, not at start
    from fairsplit.profiles import Models
    from fairsplit.render import Renderer

log = logging.getLogger("fairsplit.worker")

WORKER_KEY_FILE = "attribution-worker.pem"

#: artist ids → their stored galleries, from the registry.
GalleryLookup = Callable[[list[str]], Mapping[str, Gallery]]


def worker_key_path(key_dir: str | Path) -> Path:
    return Path(key_dir) / WORKER_KEY_FILE


def load_models(profile: str, *options) -> Models:
    """A profile's models (`load_profile`'s sources and acceleration, default when not
    given): the model stack is imported here, on the worker's first batch, not at start."""
    from fairsplit.profiles import load_profile

    return load_profile(profile, *options)


def load_worker_key(key_dir: str | Path) -> WorkerKey:
    """The worker's signing key from `key_dir` (0600, refused otherwise); never created here."""
    private = read_private_key(worker_key_path(key_dir))
    return WorkerKey(private, key_id(private.public_key()))


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
    load: Callable[[str], Models] = load_models
    works: WorkLookup | None = None  # registered works by (artist, n), for events that mix them
    renderers: dict[str, Renderer] = field(default_factory=dict)  # one per profile: keeps its render cache

    def compute(self, batch: Sequence[Admitted]) -> list[AttributionResult | ValueError]:
        """One result per event, in order; an event its profile's models refuse
        (`check_request`: one sentence) gets that error and the others are attributed."""
        from fairsplit.attribute import attribute_many, check_request

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
            from fairsplit.render import Renderer

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
    """A signed record as it goes on the wire: its canonical JSON, UTF-8."""
    return canonical_text(record).encode()


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
