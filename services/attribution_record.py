"""Between the wire and the attribution core: a platform's event as the core's request
(`to_request`), the core's result as the signed `fairsplit.attribution.v1` record
(`result_record`). The worker uses both; `explain` replays a recorded event with the first.

The record is built as the contract's own model (`AttributionResultV1`), so a field the
worker writes and the field the writer reads are one definition; what it leaves out is
what is None. Two fields keep the platform's exact spelling rather than the model's:
`occurred_at` (a model time would be respelled, e.g. `+00:00` as `Z`) and `event` (the
platform signed those bytes; the writer checks that signature again).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fairsplit.mixing import make_work, parse_work_id
from fairsplit.request import AttributionRequest, ImageEmbedding, Params, Style, Work
from fairsplit.result import AttributionResult
from ledger.ids import attribution_id
from services.admission import Admitted
from services.contracts import (ATTRIBUTION_SCHEMA, AttributionResultV1, CoalitionValueV1, EventModelV1,
                                GenerationEventV1, MethodV1, ModelRefV1, PlayerV1, RewardV1, parse_result)
from services.signing import sign_event


@dataclass(frozen=True)
class WorkerKey:
    private_key: Ed25519PrivateKey
    key_id: str

    @property
    def public_key(self):
        return self.private_key.public_key()


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
    event, method = admitted.event, result.method
    model = AttributionResultV1(
        schema=ATTRIBUTION_SCHEMA,
        event_id=event.event_id,
        attribution_id=attribution_id(event.event_id, admitted.body_sha256),
        platform_id=event.platform_id,
        occurred_at=admitted.body["occurred_at"],
        model=EventModelV1(id=event.model.id, revision=event.model.revision),
        content=event.content,
        method=MethodV1(
            estimator=method.estimator, value_function=method.value_function, profile=method.profile,
            models={"generator": ModelRefV1(id=method.generator.id, revision=method.generator.revision),
                    "embedder": ModelRefV1(id=method.embedder.id, revision=method.embedder.revision)},
            tau=method.tau, budget=method.budget, approximate=method.approximation, test_model=method.test_model,
            value_correction=method.value_correction, value_floor=result.floor, test_world=method.test_world,
        ),
        players=[PlayerV1(id=p.id, account=p.account, kind=p.kind, recognised=p.recognised, uplift=p.uplift,
                          group=p.group or None, work_margin=p.work_margin) for p in result.players],
        values=[CoalitionValueV1(players=list(c.members), value=c.value) for c in result.coalitions],
        shares=result.shares,
        clamped=result.clamped,
        std_errors=result.stderr,
        reward=RewardV1(amount=event.reward.amount, currency=event.reward.currency),
        event_sha256=admitted.body_sha256,
        worker_key_id=key.key_id,
    )
    record = model.model_dump(mode="json", exclude_none=True)
    record["occurred_at"] = admitted.body["occurred_at"]  # the platform's spelling (module docstring)
    record["event"] = admitted.body  # as signed by the platform: the writer checks that signature again
    signed = sign_event(record, key.private_key)
    parse_result(signed)  # never publish what the ledger writer would refuse
    return signed
