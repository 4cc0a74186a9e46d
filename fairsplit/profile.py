"""Every per-profile fact in one frozen value: what a profile *is*, not what it has loaded.

A `Profile` holds the thresholds and defaults the method uses with one generator and
embedder pair — τ, the value correction, the style distance, the default render
parameters, the reference contents — and the ids of the models it was loaded with. It is
immutable: a loaded profile cannot be changed under a caller (the mutable runtime state —
adapters, compiled graphs, caches — lives in `fairsplit.runtime`, built once per load).

`FACTS` is the one table of these numbers; `fairsplit.profiles` fills in the model ids
when it loads a profile. Where each number comes from:

- τ (recognizability threshold, docs/attribution.md): 0.02 for sd15, a default to
  recalibrate on real renders; 0 for tiny (its random models move gallery cosines by
  ~1e-4, so 0.02 would filter every artist; τ = 0 keeps the test's meaning: naming the
  artist moves the image towards their gallery at all); the world's is calibrated by ROC
  (`fairsplit world calibrate --cases 60 --seed 0` on fairsplit-world-v5-seed0: 80 named
  artists, 40 visible; precision 1.000, recall 1.000), halfway between the highest unknown
  artist's uplift (0.013) and the lowest visible one (0.111), each uplift taken at both ends
  of the order (`fairsplit.recognition.style_uplift`).
- value correction: `floor` for real and world models; `none` for tiny, whose random
  cosines say nothing about style (its tests keep the paper's value).
- least work margin (image mixing, `fairsplit.recognition.work_margin`): sd15's 0 asks a
  mixed work to look more like its artist's gallery than like the model's unstyled renders;
  the world's is calibrated by ROC (`fairsplit world calibrate`: 144 other works of the nine
  artists, seeds 1–4, against 48 plain drawings under each artist's id; recall 1.000, none of
  the 432 plain pairs within: own works from 0.107 up, plain drawings up to −0.081), midway
  between the neighbouring margins; tiny has none.
- style distance (shell companies, `fairsplit.styles`): two galleries whose cosine
  distance is below it are one style — refused at registration, one group player in the
  game. The world's is calibrated on the world (`fairsplit world calibrate --seed 0`: 72
  galleries of other works of the nine artists, seeds 1–4, 4 and 12 works, against 612
  pairs of different artists' galleries): every same-artist pair within, then as few
  distinct pairs as that allows (`fairsplit.styles.choose_distance`); 8.3 % of distinct
  pairs (51 of 612) are within it — all of them two of the unknown artists glacier, heron and iris,
  whose styles the world's CLIP never learnt to tell apart (docs/attribution.md); sd15's
  0.05 is a conservative default to recalibrate the same way on real galleries; tiny's
  random embedder cannot tell styles apart, so its distance is 0 (never the same style,
  no check).
"""

from __future__ import annotations

from dataclasses import dataclass

from fairsplit.request import Params

CORRECTIONS = ("floor", "none")
MODES = ("generative", "text")  # generative: coalitions re-rendered; text: the prompt's text embedding only
DEFAULT_TAU = 0.02
GENERIC_CONTENTS = ("a photograph of a person", "a landscape", "a city street", "a bowl of fruit", "an animal",
                    "a building")


@dataclass(frozen=True)
class ModelRef:
    """What produced a number: model id (or path) and revision."""

    id: str
    revision: str


@dataclass(frozen=True)
class Profile:
    """One profile's facts. Invariants (checked in `__post_init__`): a known correction,
    a style distance in [0, 2] (a cosine distance), at least one reference content."""

    name: str
    tau: float
    value_correction: str
    style_distance: float
    default_params: Params
    # what the reference galleries show (the floor of bias-corrected values): subjects the
    # model knows, with no artist named
    reference_contents: tuple[str, ...]
    test_model: bool
    generator: ModelRef | None = None  # filled in by the loader
    embedder: ModelRef | None = None
    world: str | None = None  # the test world that trained these models (profile `world`)
    # the soft recognizability gate: an artist's share is scaled by min(1, (u − τ) / width)
    # (`fairsplit.recognition.gate`); 0, every profile's, is the hard in/out test: on the
    # world a ramp one τ wide fixed 1 of 7 non-monotone cases and tripled the largest
    # padding move (docs/attribution.md, "Monotonicity")
    gate_width: float = 0.0
    # image mixing: the least `fairsplit.recognition.work_margin` a work mixed under a
    # registered artist's id must show (it looks that much more like their gallery than like
    # the model's unstyled renders); None: no check (tiny: its random embedder cannot tell)
    least_work_margin: float | None = None

    def __post_init__(self) -> None:
        if self.value_correction not in CORRECTIONS:
            raise ValueError(f"unknown value correction {self.value_correction!r}")
        if not 0.0 <= self.style_distance <= 2.0:
            raise ValueError("a style distance is a cosine distance, in [0, 2]")
        if self.gate_width < 0:
            raise ValueError("a gate width is 0 (hard) or positive")
        if not self.reference_contents:
            raise ValueError("a profile needs reference contents for its floor")


def _world_contents() -> tuple[str, ...]:
    from fairsplit.world import CONTENTS, content_prompt

    return tuple(content_prompt(c) for c in CONTENTS)


def _world_params() -> Params:
    from fairsplit.world import SIZE

    return Params(steps=12, guidance=3.0, width=SIZE, height=SIZE)


TINY_SIZE = 32
#: The one table of per-profile numbers (model ids are filled in at load).
FACTS: dict[str, Profile] = {
    "sd15": Profile("sd15", DEFAULT_TAU, "floor", 0.05, Params(), GENERIC_CONTENTS, False, least_work_margin=0.0),
    "tiny": Profile("tiny", 0.0, "none", 0.0, Params(steps=4, guidance=5.0, width=TINY_SIZE, height=TINY_SIZE),
                    GENERIC_CONTENTS, True),
    "world": Profile("world", 0.062423, "floor", 0.548756, _world_params(), _world_contents(), True,
                     least_work_margin=0.013071),
}
PROFILES = tuple(FACTS)


def facts(name: str) -> Profile:
    """The facts of profile `name` (without model ids); one sentence for an unknown name."""
    if name not in FACTS:
        raise ValueError(f"unknown profile '{name}' (choose one of: {', '.join(PROFILES)})")
    return FACTS[name]
