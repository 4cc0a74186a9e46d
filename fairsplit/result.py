"""The outcome of one attribution: who played, what each coalition was worth, the shares.

`to_json()` is deterministic for the same input (sorted keys, no wall-clock data unless
asked for), so the same event always yields byte-identical JSON. Shares are Python
floats summing to 1 within 1e-12; the ledger splits money from them exactly with
`Fraction(share)`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from fairsplit.profile import ModelRef


@dataclass(frozen=True)
class Player:
    id: str
    account: str  # "model:<id>" or "artist:<id>"
    kind: str  # "model" or "artist"
    recognised: bool = True
    uplift: float | None = None
    rank: int | None = None
    gallery_source: str | None = None  # "gallery" or "synthesized"
    group: str | None = None  # one style with other players: the id of the group's first member
    # image mixing, a registered artist's work: `fairsplit.recognition.work_margin` (under the
    # profile's least, the artist is not recognised whatever the uplift)
    work_margin: float | None = None


@dataclass(frozen=True)
class CoalitionValue:
    members: tuple[str, ...]  # accounts
    value: float


@dataclass(frozen=True)
class Method:
    value_function: str  # "generative" or "text"
    approximation: bool  # true for the text mode
    estimator: str
    budget: int | None
    tau: float
    profile: str
    test_model: bool
    generator: ModelRef
    embedder: ModelRef
    grand_image: str  # "event" (its image), "event-embedding" (its image's embedding) or "regenerated"
    v_grand: str = "v(N') = 1 over the recognised players"
    value_correction: str = "none"  # "floor": cosines measured above the image's floor; "none": the paper's
    test_world: str | None = None  # the test world whose models made the numbers (profile `world`)
    style_distance: float | None = None  # galleries closer than this were one group player
    gate_width: float | None = None  # soft recognizability gate: shares scaled by min(1, (u − τ) / width)


@dataclass
class AttributionResult:
    event_id: str | None
    model_id: str
    players: list[Player]
    coalitions: list[CoalitionValue]
    shares: dict[str, float]
    clamped: bool
    method: Method
    stderr: dict[str, float] | None = None
    floor: float | None = None  # the image's floor b when values are bias-corrected (and the game has artists)
    timings: dict[str, float] = field(default_factory=dict)
    images: dict[str, object] = field(default_factory=dict, repr=False)  # label -> PIL image

    def to_dict(self, timings: bool = False) -> dict:
        data = asdict(self)
        data.pop("images")
        if not timings:
            data.pop("timings")
        return data

    def to_json(self, timings: bool = False) -> str:
        return json.dumps(self.to_dict(timings), sort_keys=True, indent=2)
