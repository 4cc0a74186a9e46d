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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image
from sqlalchemy.engine import Engine

from fairsplit.attribute import AttributionConfig, attribute, coalition_label
from fairsplit.explain import Panel, Split, draw_explanation, name, tile, to_png
from fairsplit.profiles import load_profile
from fairsplit.result import CoalitionValue
from fairsplit.sources import Acceleration, ModelSources
from ledger.books.events import event_rewards, get_event
from ledger.money import format_amount
from ledger.parties.registry import artist_thumbnails
from services.attribution_record import to_request
from services.contracts import parse_event
from services.lookups import RegistryLookups

WORKS_PER_ARTIST = 4  # tiled 2 × 2 into one panel per artist


class ExplainError(ValueError):
    """An event that cannot be explained; the message says why."""


@dataclass(frozen=True)
class Explanation:
    png: bytes
    renders: int
    works: int
    shares: dict[str, float]


def explain_event(engine: Engine, event_id: str, sources: ModelSources,
                  acceleration: Acceleration | None = None,
                  on_step: Callable[[str], None] = lambda what: None) -> Explanation:
    """The picture of one recorded event (see the module docstring); `on_step` hears what
    it is doing (for a progress display)."""
    row = get_event(engine, event_id)
    if row is None:
        raise ExplainError(f"event {event_id} is not in the ledger.")
    recorded: dict[str, Any] = json.loads(row["attribution_json"])
    method = recorded["method"]
    request = to_request(parse_event(json.loads(row["event_json"])), RegistryLookups(engine).work)
    stored = RegistryLookups(engine).galleries([s.artist_id for s in request.styles])
    config = AttributionConfig(mode=method["value_function"], tau=method["tau"], keep_images=True,
                               value_correction=method.get("value_correction", "none"))
    on_step(f"loading the {method['profile']} models")
    models = load_profile(method["profile"], sources, acceleration)
    on_step(f"re-rendering the coalitions of {len(request.styles)} artists and the model")
    again = attribute(request, models, stored, config)
    on_step("drawing the picture")

    split = recorded_split(recorded)
    members = {label: _members(label, split.players) for label in again.images}
    grand = coalition_label(split.players)
    scored = [k for k in again.images if k == grand or split.value(members[k]) is not None]
    order = sorted(scored, key=lambda k: (k != grand, -k.count("+"), k))
    panels = [Panel(_render_title(members[k], split.model, k == grand), again.images[k], members[k]) for k in order]
    renders = len(panels)
    works = 0
    for style in request.styles:  # image mixing: the works in the picture, as the event mixed them
        if style.work is not None:
            works += 1
            panels.append(Panel(f"{style.artist_id}'s work in the mix ({style.work.ref}, weight {style.work.weight:g})",
                                Image.open(io.BytesIO(style.work.png)).convert("RGB")))
    for style in request.styles:  # the artists' own works, where the registry stores thumbnails
        thumbnails = artist_thumbnails(engine, style.artist_id)[:WORKS_PER_ARTIST]
        if thumbnails:
            works += len(thumbnails)
            panels.append(Panel(f"{style.artist_id}'s gallery ({len(thumbnails)} works shown)",
                                tile([Image.open(io.BytesIO(png)) for png in thumbnails]),
                                (f"artist:{style.artist_id}",)))
    amounts = {account: f"{format_amount(amount, currency)} {currency}"
               for account, amount, currency in event_rewards(engine, event_id)}
    notes = [f"event {event_id} · {row['content']!r} · seed {request.seed} · reward "
             f"{format_amount(row['reward_amount'], row['currency'])} {row['currency']} · {method['estimator']} Shapley"]
    notes += [not_recognised_note(p, method["tau"]) for p in recorded["players"] if not p["recognised"]]
    groups: dict[str, list[str]] = {}
    for p in recorded["players"]:
        if p.get("group"):
            groups.setdefault(p["group"], []).append(p["account"])
    notes += [f"{' and '.join(members)} are one style (galleries within the style distance): one player, "
              "its share split equally" for members in groups.values()]
    if len(scored) < len(again.images):
        notes.append(f"{len(again.images) - len(scored)} renders that name an unrecognised artist are not drawn: "
                     "they have no value in the split")
    drift = max((abs(again.shares.get(a, 0.0) - s) for a, s in recorded["shares"].items()), default=0.0)
    if drift > 1e-6:  # the worker rendered this event inside a batch: floating-point batch effects
        notes.append(f"re-rendered alone, the shares differ from the worker's batched render by up to {drift:.2g}; "
                     "the recorded shares and values are the ones paid")
    png = to_png(draw_explanation(f"Why event {event_id[:8]}… was split this way", panels, split, amounts, notes,
                                  test_model=bool(method.get("test_model"))))
    return Explanation(png, renders, works, recorded["shares"])


def recorded_split(recorded: dict[str, Any]) -> Split:
    """The numbers of a recorded attribution (`attribution_json`) as the picture states them."""
    players = recorded["players"]
    model = next(p["account"] for p in players if p["kind"] == "model")
    method = recorded["method"]
    return Split(
        model=model,
        players=tuple(p["account"] for p in players),
        game=tuple(p["account"] for p in players if p["recognised"]),
        values=[CoalitionValue(tuple(v["players"]), float(v["value"])) for v in recorded["values"]],
        shares={account: float(share) for account, share in recorded["shares"].items()},
        clamped=bool(recorded.get("clamped")),
        estimator=method["estimator"],
        approximate=bool(method.get("approximate")),
    )


def _members(label: str, players: tuple[str, ...]) -> tuple[str, ...]:
    """The accounts of a coalition named by `coalition_label` (its ids, in the players' order)."""
    ids, found = label.split("+"), []
    for account in players:
        if len(found) < len(ids) and ids[len(found)] == name(account):
            found.append(account)
    return tuple(found)


def _render_title(members: tuple[str, ...], model: str, grand: bool) -> str:
    if grand:
        return "the generated image (regenerated)"
    styles = [f"{name(account)}'s" for account in members if account != model]
    if not styles:
        return f"{name(model)} alone (the content only)"
    said = styles[0] if len(styles) == 1 else ", ".join(styles[:-1]) + f" and {styles[-1]}"
    return f"{name(model)} with {said} style{'s' if len(styles) > 1 else ''}"


def not_recognised_note(player: dict, tau: float) -> str:
    """Why an artist earns 0: the style uplift under τ, or a mixed work not in their style."""
    uplift = player.get("uplift") or 0.0
    if uplift >= tau and player.get("work_margin") is not None:
        return (f"{player['account']} not recognised (the mixed work looks no more like their gallery than the "
                f"model's unstyled renders: work margin {player['work_margin']:+.5f}): not a player, earns 0")
    return f"{player['account']} not recognised (style uplift {uplift:+.5f} < τ {tau}): not a player, earns 0"
