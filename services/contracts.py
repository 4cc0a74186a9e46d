"""Wire contracts of the pipeline: pydantic v2 models, validated strictly.

Rules shared by every model (see docs/pipeline.md):
- extra fields are rejected, every schema carries its exact version string and unknown
  versions are rejected rather than guessed;
- times are RFC 3339 strings with a timezone (`Z` or `±hh:mm`);
- money is a canonical decimal *string* (`"0.01"`: ASCII digits, no sign or spaces, no
  more decimals than the currency's ISO 4217 minor unit — USD 2, JPY 0), positive and at
  most `ledger.money.MAX_EVENT_REWARD` (1,000,000 units), in a currency the ledger knows;
- ids are canonical: an event id is a lower-case UUID (anything else is refused, never
  normalised, so one event has one spelling and cannot be paid twice);
- text never holds NUL (PostgreSQL cannot store it, SQLite would);
- sizes are bounded: prompt and content length, number of styles (0..16; none means the
  model earns the whole reward), decoded image bytes (8 MiB), image embedding values (1..4096), generation parameters.

`parse_event(raw)` is the one entry point for bytes from Kafka or a JSONL file; it raises
`ContractError` with one sentence naming the first problem.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import sys
from array import array
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, ValidationError, field_validator, model_validator

from ledger.errors import MoneyError, one_line
from ledger.ids import SLUG
from ledger.money import MAX_EVENT_REWARD, parse_amount, parse_reward
from ledger.strictjson import StrictJsonError, parse_object
from services.contract_fields import (Base64Sig, Contract, Finite, ModelId, Revision, Sha256Hex, Slug, Text, Time,
                                      Unit, Uuid)

__all__ = [
    "GENERATION_SCHEMA", "ATTRIBUTION_SCHEMA", "DEAD_LETTER_SCHEMA", "MAX_IMAGE_BYTES",
    "ContractError", "RewardV1", "ModelRefV1", "EventModelV1", "LoraV1", "MixV1", "StyleV1", "ParamsV1", "ImageV1", "ImageEmbeddingV1",
    "GenerationEventV1", "MethodV1", "PlayerV1", "CoalitionValueV1", "AttributionResultV1",
    "SourceV1", "DeadLetterV1", "parse_event", "parse_result", "parse_dead_letter", "describe_error",
]

GENERATION_SCHEMA = "fairsplit.generation.v1"
ATTRIBUTION_SCHEMA = "fairsplit.attribution.v1"
DEAD_LETTER_SCHEMA = "fairsplit.deadletter.v1"

MAX_EVENT_BYTES = 16 * 1024 * 1024
MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_EMBEDDING_VALUES = 4096
MAX_STYLES = 16
MAX_CONTENT_CHARS = 2000
MAX_PROMPT_CHARS = 4000
MAX_PHRASE_CHARS = 300
SEED_MAX = 2**32 - 1
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class ContractError(ValueError):
    """Input that does not satisfy a contract; `str(err)` is one sentence."""


_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


# --- generation.v1 ---------------------------------------------------------------------


class RewardV1(Contract):
    """`{"amount": "0.004", "currency": "USD"}`: a positive canonical decimal string in a
    currency the ledger knows, at most `MAX_EVENT_REWARD`, to the micro-unit — whole units
    in a currency without a minor unit (JPY, KRW; `ledger.money.parse_reward`)."""

    amount: Text
    currency: Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Z]{3}$")]

    @model_validator(mode="after")
    def _amount(self) -> "RewardV1":
        try:
            micros = parse_reward(self.amount, self.currency, MAX_EVENT_REWARD)
        except MoneyError as exc:
            raise ValueError(str(exc).rstrip(".")) from None
        if micros == 0:
            raise ValueError("amount must be positive")
        return self

    @property
    def micros(self) -> int:
        """The amount in micro-units (10^-6 of the currency unit), exact."""
        return parse_amount(self.amount, self.currency, MAX_EVENT_REWARD)


class ModelRefV1(Contract):
    """Where a model comes from: a hub id or path, and its revision."""

    id: ModelId
    revision: Revision


class EventModelV1(Contract):
    """The model that generated an event's image, as paid: its id is an account id (a slug)."""

    id: Slug
    revision: Revision


class LoraV1(Contract):
    """A fine-tuned adapter (DreamBooth / LoRA) that carries an artist's style."""

    id: ModelId
    revision: Revision | None = None
    scale: Annotated[float, Field(strict=True, gt=0.0, le=4.0)] = 1.0


def _png_base64(value: str, what: str) -> str:
    """A base64 PNG of at most `MAX_IMAGE_BYTES` once decoded (checked before decoding too)."""
    if len(value) > (MAX_IMAGE_BYTES + 2) // 3 * 4:
        raise ValueError(f"{what} is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MiB")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} is not valid base64") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"{what} is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MiB")
    if not data.startswith(PNG_MAGIC):
        raise ValueError(f"{what} is not a PNG")
    return value


class MixV1(Contract):
    """Image mixing: one of the artist's works the image was conditioned on — a registered
    work id `ARTIST/N` (the artist's own N-th work, from 0) or a PNG in base64 (at most
    8 MiB decoded) — and its weight (the IP-Adapter scale, in (0, 4])."""

    work_id: Annotated[str, StringConstraints(strict=True, pattern=f"^{SLUG}/[0-9]{{1,6}}$")] | None = None
    png_base64: Text | None = None
    weight: Annotated[float, Field(strict=True, gt=0.0, le=4.0)] = 1.0

    @field_validator("png_base64")
    @classmethod
    def _png(cls, value: str | None) -> str | None:
        return None if value is None else _png_base64(value, "mixed work")

    @property
    def png_bytes(self) -> bytes:
        return base64.b64decode(self.png_base64)

    @model_validator(mode="after")
    def _one_work(self) -> "MixV1":
        if (self.work_id is None) == (self.png_base64 is None):
            raise ValueError("a mixed work is a work_id or a png_base64, not both or neither")
        return self


class StyleV1(Contract):
    """One artist's contribution to the generation: a phrase, an adapter, a mixed work, or several."""

    artist_id: Slug
    phrase: Annotated[Text, StringConstraints(min_length=1, max_length=MAX_PHRASE_CHARS)] | None = None
    lora: LoraV1 | None = None
    mix: MixV1 | None = None

    @model_validator(mode="after")
    def _phrase_or_lora(self) -> "StyleV1":
        if self.phrase is None and self.lora is None and self.mix is None:
            raise ValueError("a style needs a phrase, a lora, or both, or a mixed work")
        if self.mix and self.mix.work_id and self.mix.work_id.split("/")[0] != self.artist_id:
            raise ValueError("a mixed work_id must name one of the artist's own works")
        return self


class ParamsV1(Contract):
    steps: Annotated[int, Field(strict=True, ge=1, le=200)]
    guidance: Annotated[Finite, Field(ge=0.0, le=50.0)]
    width: Annotated[int, Field(strict=True, ge=32, le=2048, multiple_of=8)]
    height: Annotated[int, Field(strict=True, ge=32, le=2048, multiple_of=8)]


class ImageV1(Contract):
    """The generated image as base64 PNG, at most 8 MiB once decoded."""

    png_base64: Text

    @field_validator("png_base64")
    @classmethod
    def _png(cls, value: str) -> str:
        return _png_base64(value, "image")

    @property
    def png_bytes(self) -> bytes:
        return base64.b64decode(self.png_base64)


class ImageEmbeddingV1(Contract):
    """The CLIP image embedding of the event's image, as the platform computed it: float32
    little-endian values in canonical base64, 1..4096 of them, finite, not all zero, and
    the embedder (`model`: id and revision) that made it. The worker uses it only if it
    embeds with that very model."""

    model: ModelRefV1
    float32_base64: Text

    @field_validator("float32_base64")
    @classmethod
    def _vector(cls, value: str) -> str:
        if len(value) > (MAX_EMBEDDING_VALUES * 4 + 2) // 3 * 4:
            raise ValueError(f"image embedding has more than {MAX_EMBEDDING_VALUES} values")
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("image embedding is not valid base64") from None
        if base64.b64encode(data).decode("ascii") != value:
            raise ValueError("image embedding is not canonical base64")
        if not data or len(data) % 4:
            raise ValueError("image embedding must be a whole number (at least one) of float32 values")
        values = _float32_le(data)
        if not all(math.isfinite(v) for v in values):
            raise ValueError("image embedding values must be finite")
        if not any(values):
            raise ValueError("image embedding must not be all zero")
        return value

    @property
    def values(self) -> tuple[float, ...]:
        return tuple(_float32_le(base64.b64decode(self.float32_base64)))


def _float32_le(data: bytes) -> array:
    values = array("f")
    values.frombytes(data)
    if sys.byteorder == "big":
        values.byteswap()
    return values


class GenerationEventV1(Contract):
    """One generated image, emitted by a platform (docs/pipeline.md); key = event_id."""

    schema_: Literal["fairsplit.generation.v1"] = Field(GENERATION_SCHEMA, alias="schema")
    event_id: Uuid
    platform_id: Slug
    occurred_at: Time
    model: EventModelV1
    content: Annotated[Text, StringConstraints(min_length=1, max_length=MAX_CONTENT_CHARS)]
    styles: Annotated[list[StyleV1], Field(min_length=0, max_length=MAX_STYLES)]
    prompt: Annotated[Text, StringConstraints(min_length=1, max_length=MAX_PROMPT_CHARS)]
    seed: Annotated[int, Field(strict=True, ge=0, le=SEED_MAX)]
    params: ParamsV1
    image: ImageV1 | None = None
    image_embedding: ImageEmbeddingV1 | None = None
    reward: RewardV1
    signature: Base64Sig | None = None

    @field_validator("styles")
    @classmethod
    def _unique_artists(cls, styles: list[StyleV1]) -> list[StyleV1]:
        ids = [style.artist_id for style in styles]
        if len(set(ids)) != len(ids):
            raise ValueError("each artist may appear in only one style")
        return styles


# --- attribution.v1 --------------------------------------------------------------------


class MethodV1(Contract):
    """How the shares were computed, enough to reproduce them."""

    estimator: Annotated[str, StringConstraints(strict=True, pattern=r"^[a-z0-9_.-]{1,64}$")]
    value_function: Annotated[str, StringConstraints(strict=True, pattern=r"^[a-z0-9_.-]{1,64}$")]
    profile: Annotated[str, StringConstraints(strict=True, pattern=r"^[a-z0-9_.-]{1,64}$")]
    models: Annotated[dict[Annotated[str, StringConstraints(pattern=r"^[a-z0-9_.-]{1,32}$")], ModelRefV1],
                      Field(min_length=1, max_length=8)]
    tau: Finite
    budget: Annotated[int, Field(strict=True, ge=1)] | None = None
    approximate: Annotated[bool, Field(strict=True)] = False
    test_model: Annotated[bool, Field(strict=True)] = False
    # bias-corrected values ("floor", with the image's floor) or the paper's ("none");
    # results from before the correction existed say neither and were "none"
    value_correction: Literal["floor", "none"] = "none"
    value_floor: Finite | None = None
    test_world: Annotated[str, StringConstraints(strict=True, pattern=r"^[a-z0-9_.-]{1,64}$")] | None = None


class PlayerV1(Contract):
    id: Annotated[Text, StringConstraints(min_length=1, max_length=160)]
    account: Annotated[str, StringConstraints(strict=True, pattern=f"^(model|artist):{SLUG}$")]
    kind: Literal["model", "artist"]
    recognised: Annotated[bool, Field(strict=True)]
    uplift: Finite | None = None
    group: Slug | None = None  # players of one style, one group player: its first member's id
    # a mixed work's margin over the model's unstyled renders (`fairsplit.recognition.work_margin`)
    work_margin: Finite | None = None


class CoalitionValueV1(Contract):
    players: Annotated[list[str], Field(max_length=64)]
    value: Finite


class AttributionResultV1(Contract):
    """The split of one event's reward, signed by the worker's key; key = event_id."""

    schema_: Literal["fairsplit.attribution.v1"] = Field(ATTRIBUTION_SCHEMA, alias="schema")
    event_id: Uuid
    attribution_id: Uuid
    platform_id: Slug
    occurred_at: Time
    model: EventModelV1
    content: Annotated[Text, StringConstraints(min_length=1, max_length=MAX_CONTENT_CHARS)]
    method: MethodV1
    players: Annotated[list[PlayerV1], Field(min_length=1, max_length=MAX_STYLES + 1)]
    values: Annotated[list[CoalitionValueV1], Field(max_length=2 ** (MAX_STYLES + 1))]
    shares: dict[str, Unit]
    clamped: Annotated[bool, Field(strict=True)] = False
    std_errors: dict[str, Annotated[Finite, Field(ge=0.0)]] | None = None
    reward: RewardV1
    event_sha256: Sha256Hex
    event: dict[str, Any] | None = None  # the platform's event without its image, for statements and replays
    worker_key_id: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=128)]
    signature: Base64Sig | None = None

    @model_validator(mode="after")
    def _shares_are_a_split(self) -> "AttributionResultV1":
        accounts = {player.account for player in self.players}
        unknown = sorted(set(self.shares) - accounts)
        if unknown:
            raise ValueError(f"shares name accounts that are not players: {', '.join(unknown)}")
        total = math.fsum(self.shares.values())
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"shares must sum to 1 (within 1e-9), they sum to {total!r}")
        return self


# --- deadletter.v1 ---------------------------------------------------------------------


class SourceV1(Contract):
    topic: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=249)]
    partition: Annotated[int, Field(strict=True, ge=0)]
    offset: Annotated[int, Field(strict=True, ge=0)]


class DeadLetterV1(Contract):
    """A record that could not be processed, with everything needed to replay it."""

    schema_: Literal["fairsplit.deadletter.v1"] = Field(DEAD_LETTER_SCHEMA, alias="schema")
    original_base64: Text
    key_base64: Text | None = None
    reason: Annotated[Text, StringConstraints(min_length=1, max_length=2000)]
    error_class: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=200)]
    source: SourceV1
    failed_at: Time
    service: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=128)]
    attempts: Annotated[int, Field(strict=True, ge=1)] = 1

    @field_validator("original_base64", "key_base64")
    @classmethod
    def _base64(cls, value: str | None) -> str | None:
        if value is not None and not _B64.fullmatch(value):
            raise ValueError("must be base64")
        return value

    @property
    def original(self) -> bytes:
        return base64.b64decode(self.original_base64)




# --- parsing ---------------------------------------------------------------------------


def describe_error(exc: ValidationError) -> str:
    """One sentence naming the first problem of a pydantic error (and how many more)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"] if not str(part).startswith("function-"))
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unexpected field"
    elif first["type"] == "missing":
        message = "required field is missing"
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return f"{where + ': ' if where else ''}{message}{more}"


def load_json_object(raw: bytes | str, what: str) -> dict[str, Any]:
    """Decode UTF-8 JSON that must be an object (`ledger.strictjson`); `ContractError` otherwise."""
    try:
        return parse_object(raw, what, MAX_EVENT_BYTES)
    except StrictJsonError as exc:
        raise ContractError(f"invalid {what}: {exc.reason.removeprefix('is ')}.") from None


def _parse(raw: bytes | str | dict, model: type[Contract], schema: str, what: str) -> Any:
    data = raw if isinstance(raw, dict) else load_json_object(raw, what)
    found = data.get("schema")
    if found != schema:
        shown = "no schema" if found is None else f"schema {found!r}"
        raise ContractError(_sentence(f"invalid {what}: unknown {shown}, expected {schema!r}"))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ContractError(_sentence(f"invalid {what}: {describe_error(exc)}")) from None


def _sentence(text: str, limit: int = 300) -> str:
    """One line of at most `limit` characters ending in a full stop (a hostile value may be long)."""
    return one_line(" ".join(text.split()).rstrip("."), limit - 1) + "."


def parse_event(raw: bytes | str | dict) -> GenerationEventV1:
    """Validate a `fairsplit.generation.v1` event; `ContractError` says what is wrong."""
    return _parse(raw, GenerationEventV1, GENERATION_SCHEMA, "generation event")


def parse_result(raw: bytes | str | dict) -> AttributionResultV1:
    """Validate a `fairsplit.attribution.v1` result; `ContractError` says what is wrong."""
    return _parse(raw, AttributionResultV1, ATTRIBUTION_SCHEMA, "attribution result")


def parse_dead_letter(raw: bytes | str | dict) -> DeadLetterV1:
    """Validate a `fairsplit.deadletter.v1` record."""
    return _parse(raw, DeadLetterV1, DEAD_LETTER_SCHEMA, "dead letter")
