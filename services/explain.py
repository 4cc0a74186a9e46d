"""Why an event was split as it was: its record from the ledger, re-rendered, drawn.

The recorded attribution (what was paid) gives the values and shares; the event is
rendered again with the same profile, seed and parameters to show the coalition images;
the registry gives the artists' thumbnails. Everything drawn comes from the ledger's
record, except the images, which are re-rendered (and say so when the re-render's shares
drift from the recorded ones: a batch changes float rounding, never what was paid).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

from PIL import Image
from sqlalchemy.engine import Engine

from fairsplit.attribute import AttributionConfig, attribute, coalition_label
from fairsplit.explain import Panel, draw_explanation
from fairsplit.profiles import load_profile
from fairsplit.sources import Acceleration, ModelSources
from ledger.events import event_rewards, get_event
from ledger.money import format_amount
from ledger.registry import artist_thumbnails
from services.attribution_worker import to_request
from services.contracts import parse_event
from services.lookups import RegistryLookups

WORKS_PER_ARTIST = 2


class ExplainError(ValueError):
    """An event that cannot be explained; the message says why."""


@dataclass(frozen=True)
class Explanation:
    png: bytes
    renders: int
    works: int
    shares: dict[str, float]


def explain_event(engine: Engine, event_id: str, sources: ModelSources,
                  acceleration: Acceleration | None = None) -> Explanation:
    """The picture of one recorded event (see the module docstring)."""
    row = get_event(engine, event_id)
    if row is None:
        raise ExplainError(f"event {event_id} is not in the ledger.")
    recorded: dict[str, Any] = json.loads(row["attribution_json"])
    method = recorded["method"]
    request = to_request(parse_event(json.loads(row["event_json"])))
    stored = RegistryLookups(engine).galleries([s.artist_id for s in request.styles])
    config = AttributionConfig(mode=method["value_function"], tau=method["tau"], keep_images=True)
    again = attribute(request, load_profile(method["profile"], sources, acceleration), stored, config)

    values = {coalition_label(v["players"]): v["value"] for v in recorded["values"]}
    grand = coalition_label([p["account"] for p in recorded["players"]])
    order = sorted(again.images, key=lambda k: (k != grand, -k.count("+"), k))

    def title(key: str) -> str:
        name = "generated image (regenerated)" if key == grand else key
        return name if key in values or key == grand else f"{name}\n(not scored: names a filtered artist)"

    panels = [Panel(title(k), again.images[k], values.get(k)) for k in order]
    renders = len(panels)
    for style in request.styles:  # the artists' own works, where the registry stores thumbnails
        works = artist_thumbnails(engine, style.artist_id)[:WORKS_PER_ARTIST]
        panels += [Panel(f"artist:{style.artist_id} work {i + 1}", Image.open(io.BytesIO(png)))
                   for i, png in enumerate(works)]
    amounts = {account: f"{format_amount(amount, currency)} {currency}"
               for account, amount, currency in event_rewards(engine, event_id)}
    notes = [f"event {event_id} · {row['content']!r} · seed {request.seed} · reward "
             f"{format_amount(row['reward_amount'], row['currency'])} {row['currency']} · {method['estimator']} Shapley"]
    notes += [f"{p['account']} not recognised (style uplift {p.get('uplift', 0):+.5f} < τ {method['tau']}): earns 0"
              for p in recorded["players"] if not p["recognised"]]
    if method.get("test_model"):
        notes.append("test model: renders and shares are not meaningful")
    drift = max((abs(again.shares.get(a, 0.0) - s) for a, s in recorded["shares"].items()), default=0.0)
    if drift > 1e-6:  # the worker rendered this event inside a batch: floating-point batch effects
        notes.append(f"re-rendered alone, the shares differ from the worker's batched render by up to {drift:.2g}; "
                     "the recorded shares are the ones paid")
    png = draw_explanation(f"Why event {event_id[:8]}… was split this way", panels, recorded["shares"], amounts, notes)
    return Explanation(png, renders, len(panels) - renders, recorded["shares"])
