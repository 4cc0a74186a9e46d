"""Contracts: the documented example parses, every kind of bad input is a ContractError."""

from __future__ import annotations

import base64
import copy
import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.contracts import (
    MAX_IMAGE_BYTES,
    PNG_MAGIC,
    AttributionResultV1,
    ContractError,
    DeadLetterV1,
    parse_dead_letter,
    parse_event,
    parse_result,
)
from tests.services.support import EXAMPLE_EVENT


def _mutated(event: dict, path: str, value) -> bytes:
    data = copy.deepcopy(event)
    *parents, leaf = path.split(".")
    target = data
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if value is _DELETE:
        del target[leaf]
    else:
        target[leaf] = value
    return json.dumps(data).encode()


_DELETE = object()


def test_design_example_parses(design_event):
    event = parse_event(json.dumps(design_event).encode())
    assert event.event_id == design_event["event_id"]
    assert event.styles[0].artist_id == "van-gogh"
    assert event.reward.micros == 10_000
    assert event.occurred_at.utcoffset().total_seconds() == 0
    assert json.loads(event.to_json_bytes()) == design_event


def test_optional_image_and_lora_parse(design_event):
    png = base64.b64encode(PNG_MAGIC + b"\0" * 100).decode()
    data = {**design_event, "image": {"png_base64": png},
            "styles": [{"artist_id": "van-gogh", "lora": {"id": "acme/van-gogh-lora", "scale": 0.8}}]}
    event = parse_event(json.dumps(data))
    assert event.image.png_bytes.startswith(PNG_MAGIC)
    assert event.styles[0].phrase is None and event.styles[0].lora.scale == 0.8


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        ("schema", "fairsplit.generation.v2", "unknown schema 'fairsplit.generation.v2'"),
        ("schema", _DELETE, "unknown no schema"),
        ("surprise", 1, "surprise: unexpected field"),
        ("params.sampler", "ddim", "params.sampler: unexpected field"),
        ("reward.amount", "-0.004", "is negative"),
        ("reward.amount", "0", "amount must be positive"),
        ("reward.amount", 0.004, "reward.amount: Input should be a valid string"),
        ("reward.amount", "0.0000001", "more than 6 decimal places"),
        ("reward.amount", "1e-3", "not a plain decimal"),
        ("reward.amount", "1\u0660", "not a plain decimal"),  # an Arabic-Indic zero is not a zero here
        ("reward.amount", "1.00\n", "not a plain decimal"),
        ("reward.amount", " 1.00", "not a plain decimal"),
        ("reward.amount", "1000000.000001", "largest allowed here, 1000000.00"),
        ("reward.amount", "999999999999.999999", "largest allowed"),
        ("reward.currency", "XYZ", "Unknown currency"),
        ("occurred_at", "0001-01-01T00:00:00+01:00", "out of range"),
        ("occurred_at", "2026-11-24T12:00:00Z\n", "RFC 3339"),
        ("occurred_at", "2026-11-24T12:00:00\u0660Z", "RFC 3339"),
        ("event_id", "C28753F8-0000-4000-8000-000000000000", "event_id"),
        ("content", "a\u0000b", "NUL"),
        ("styles.0.phrase", "by \u0000", "NUL"),
        ("reward.currency", "usd", "reward.currency"),
        ("occurred_at", "2026-11-24T12:00:00", "with a timezone"),
        ("occurred_at", "2026-13-24T12:00:00Z", "not a valid date/time"),
        ("occurred_at", 1700000000, "RFC 3339"),
        ("seed", -1, "seed"),
        ("seed", 2**40, "seed"),
        ("seed", 12.0, "seed"),
        ("params.steps", 0, "params.steps"),
        ("params.steps", 201, "params.steps"),
        ("params.width", 513, "multiple of 8"),
        ("params.guidance", True, "params.guidance"),
        ("styles", [{"artist_id": f"a{i}", "phrase": "x"} for i in range(17)], "at most 16"),
        ("styles", [{"artist_id": "a", "phrase": "x"}, {"artist_id": "a", "phrase": "y"}], "only one style"),
        ("styles.0.artist_id", "Van Gogh!", "styles.0.artist_id"),
        ("styles.0.phrase", _DELETE, "a phrase, a lora, or both"),
        ("content", "x" * 2001, "content"),
        ("prompt", "", "prompt"),
        ("event_id", "not-a-uuid", "event_id"),
        ("image", {"png_base64": "!!!"}, "not valid base64"),
        ("image", {"png_base64": base64.b64encode(b"GIF89a").decode()}, "not a PNG"),
        ("reward", _DELETE, "reward: required field is missing"),
    ],
)
def test_bad_events_are_contract_errors(design_event, path, value, reason):
    with pytest.raises(ContractError) as info:
        parse_event(_mutated(design_event, path, value))
    message = str(info.value)
    assert reason in message
    assert message.startswith("invalid generation event: ") and message.endswith(".")
    assert "\n" not in message


CLIP_L = {"id": "openai/clip-vit-large-patch14", "revision": "main"}


def _floats(*values: float) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


def test_an_image_embedding_parses_to_its_float32_values(design_event):
    vector = [0.25, -1.5, 3.0e-8, 7.0]
    event = parse_event(_mutated(design_event, "image_embedding", {"model": CLIP_L, "float32_base64": _floats(*vector)}))
    assert event.image_embedding.values == tuple(struct.unpack("<4f", struct.pack("<4f", *vector)))
    assert event.image_embedding.model.id == CLIP_L["id"] and event.image_embedding.model.revision == "main"


@pytest.mark.parametrize(
    ("embedding", "reason"),
    [
        ({"float32_base64": _floats(1.0)}, "image_embedding.model: required field is missing"),
        ({"model": {"id": CLIP_L["id"]}, "float32_base64": _floats(1.0)}, "image_embedding.model.revision"),
        ({"model": CLIP_L, "float32_base64": "!!!"}, "not valid base64"),
        ({"model": CLIP_L, "float32_base64": "AAAAAB=="}, "not canonical base64"),
        ({"model": CLIP_L, "float32_base64": ""}, "at least one"),
        ({"model": CLIP_L, "float32_base64": base64.b64encode(b"\0" * 6).decode()}, "whole number"),
        ({"model": CLIP_L, "float32_base64": _floats(1.0, float("nan"))}, "must be finite"),
        ({"model": CLIP_L, "float32_base64": _floats(1.0, float("inf"))}, "must be finite"),
        ({"model": CLIP_L, "float32_base64": _floats(0.0, -0.0)}, "all zero"),
        ({"model": CLIP_L, "float32_base64": _floats(*[1.0] * 4097)}, "more than 4096 values"),
        ({"model": CLIP_L, "float32_base64": [1.0, 2.0]}, "Input should be a valid string"),
        ({"model": CLIP_L, "float32_base64": _floats(1.0), "dtype": "float16"}, "unexpected field"),
    ],
)
def test_bad_image_embeddings_are_one_sentence(design_event, embedding, reason):
    with pytest.raises(ContractError) as info:
        parse_event(_mutated(design_event, "image_embedding", embedding))
    message = str(info.value)
    assert reason in message and message.startswith("invalid generation event: image_embedding")
    assert "\n" not in message and message.endswith(".")


def test_oversized_image_is_rejected(design_event):
    big = base64.b64encode(PNG_MAGIC + b"\0" * MAX_IMAGE_BYTES).decode()
    with pytest.raises(ContractError, match="larger than 8 MiB"):
        parse_event(_mutated(design_event, "image", {"png_base64": big}))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{", "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"schema": NaN}', "not valid JSON"),
        (b'{"schema": "x", "schema": "y"}', "not valid JSON"),
        (b"[" * 100_000, "nested too deeply|not valid JSON"),
    ],
)
def test_bad_json_is_a_contract_error(raw, reason):
    with pytest.raises(ContractError, match=reason):
        parse_event(raw)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes_only_raise_contract_error(raw):
    with pytest.raises(ContractError):
        parse_event(raw)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_events_only_raise_contract_error(data):
    event = copy.deepcopy(EXAMPLE_EVENT)
    for _ in range(data.draw(st.integers(1, 3))):
        nested = event.get(data.draw(st.sampled_from(["model", "params", "reward"])))
        target = nested if isinstance(nested, dict) and nested and data.draw(st.booleans()) else event
        key = data.draw(st.sampled_from(sorted(target)) | st.text(max_size=8))
        target[key] = data.draw(_json)
    try:
        parse_event(json.dumps(event))
    except ContractError:
        pass


def _result(event: dict) -> dict:
    return {
        "schema": "fairsplit.attribution.v1", "event_id": event["event_id"],
        "attribution_id": "5d0b7c2a-1f7e-4c1b-8a53-3c1f6e2d9b01", "platform_id": "acme",
        "occurred_at": event["occurred_at"], "model": event["model"], "content": event["content"],
        "method": {"estimator": "exact", "value_function": "clip-image", "profile": "tiny",
                   "models": {"generator": {"id": "tiny-sd", "revision": "r1"},
                              "embedder": {"id": "clip-vit-b32", "revision": "r2"}},
                   "tau": 0.01, "budget": None},
        "players": [{"id": "M", "account": "model:sd-1.5", "kind": "model", "recognised": True},
                    {"id": "van-gogh", "account": "artist:van-gogh", "kind": "artist",
                     "recognised": True, "uplift": 0.12}],
        "values": [{"players": [], "value": 0.0}, {"players": ["M"], "value": 0.7},
                   {"players": ["van-gogh"], "value": 0.5}, {"players": ["M", "van-gogh"], "value": 1.0}],
        "shares": {"model:sd-1.5": 0.6, "artist:van-gogh": 0.4},
        "reward": event["reward"], "event_sha256": "a" * 64, "worker_key_id": "worker-1",
        "signature": base64.b64encode(b"\1" * 64).decode(),
    }


def test_attribution_result_round_trips(design_event):
    result = parse_result(json.dumps(_result(design_event)))
    assert isinstance(result, AttributionResultV1)
    assert parse_result(result.to_json_bytes()) == result


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"shares": {"model:sd-1.5": 0.6, "artist:van-gogh": 0.5}}, "sum to 1"),
        ({"shares": {"model:sd-1.5": 0.6, "artist:monet": 0.4}}, "not players: artist:monet"),
        ({"schema": "fairsplit.attribution.v0"}, "unknown schema"),
        ({"event_sha256": "XYZ"}, "event_sha256"),
    ],
)
def test_bad_results_are_contract_errors(design_event, change, reason):
    with pytest.raises(ContractError, match=reason):
        parse_result({**_result(design_event), **change})


def test_dead_letter_round_trips():
    letter = DeadLetterV1(original_base64=base64.b64encode(b"{").decode(), reason="invalid JSON.",
                          error_class="ContractError", source={"topic": "t", "partition": 0, "offset": 3},
                          failed_at="2026-11-24T12:00:00+01:00", service="test")
    again = parse_dead_letter(letter.to_json_bytes())
    assert again.original == b"{" and again.source.offset == 3


def test_an_event_naming_no_artist_is_valid(design_event):
    """A generation whose prompt names no artist: the model earns the whole reward."""
    event = parse_event(_mutated(design_event, "styles", []))
    assert event.styles == []
