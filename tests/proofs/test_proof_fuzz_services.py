"""Fuzzing the pipeline's edges: the event parser and the canonical-JSON signer.

Properties, for any input:
- `parse_event` returns an event or raises `ContractError` (never anything else);
- a signed event with any flipped bit, truncated or padded, never both parses and
  verifies unless its canonical body (what was signed) is unchanged;
- `canonical_json` returns bytes or raises `SignatureError`; it is deterministic,
  independent of key order and round-trips through `json.loads`.
"""

from __future__ import annotations

import copy
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.contracts import ContractError, parse_event
from services.signing import SignatureError, canonical_json, sign_event, verify_event
from tests.services.support import EXAMPLE_EVENT

KEY = Ed25519PrivateKey.from_private_bytes(bytes(32))
SIGNED = sign_event(copy.deepcopy(EXAMPLE_EVENT), KEY)
SIGNED_BYTES = json.dumps(SIGNED).encode()
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=25,
)


def parse_and_verify(raw: bytes) -> dict | None:
    """The record if it parses as an event AND its signature verifies, else None."""
    try:
        parse_event(raw)
        record = json.loads(raw)
        verify_event(record, KEY.public_key())
    except (ContractError, SignatureError):
        return None
    return record


def test_the_signed_example_parses_and_verifies():
    assert parse_and_verify(SIGNED_BYTES) is not None


@FUZZ
@given(st.integers(0, len(SIGNED_BYTES) * 8 - 1))
def test_fuzz_no_flipped_bit_changes_what_verifies(bit):
    raw = bytearray(SIGNED_BYTES)
    raw[bit // 8] ^= 1 << (bit % 8)
    record = parse_and_verify(bytes(raw))
    assert record is None or canonical_json(record) == canonical_json(SIGNED)


@FUZZ
@given(st.integers(0, len(SIGNED_BYTES) - 1), st.binary(max_size=8))
def test_fuzz_truncated_or_padded_events_never_verify_changed(cut, tail):
    record = parse_and_verify(SIGNED_BYTES[:cut] + tail)
    assert record is None or canonical_json(record) == canonical_json(SIGNED)


@FUZZ
@given(st.sampled_from(sorted(EXAMPLE_EVENT)), json_values)
def test_fuzz_replaced_fields_only_raise_contract_or_signature_errors(field, value):
    record = {**SIGNED, field: value}
    try:
        raw = json.dumps(record).encode()
    except ValueError:  # NaN cannot be written as JSON: nothing to send
        return
    result = parse_and_verify(raw)
    assert result is None or canonical_json(result) == canonical_json(SIGNED)


@pytest.mark.parametrize("raw", [
    b"[" * 200_000 + b"]" * 200_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b'{"schema": "fairsplit.generation.v1", "seed": ' + b"9" * 10_000 + b"}",
    b'{"schema": "fairsplit.generation.v1", "seed": 1e999999}',
    b'{"schema": "fairsplit.generation.v1", "seed": -Infinity}',
    SIGNED_BYTES.replace(b'"seed": 1234', b'"seed": 123456789012345678901234567890'),
    SIGNED_BYTES.replace(b'"amount": "0.01"', b'"amount": "1' + b"0" * 5000 + b'"'),
])
def test_deep_nesting_and_huge_numbers_are_contract_errors(raw):
    with pytest.raises(ContractError):
        parse_event(raw)


@FUZZ
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_fuzz_canonical_json_is_deterministic_or_a_signature_error(record):
    try:
        encoded = canonical_json(record)
    except SignatureError:
        return
    assert canonical_json(dict(reversed(list(record.items())))) == encoded
    assert canonical_json(json.loads(encoded)) == encoded


def test_lone_surrogates_are_a_signature_error_not_a_crash():
    record = json.loads(SIGNED_BYTES.replace(b'"an image of a man"', b'"an image \\ud800"'))
    with pytest.raises(SignatureError):
        verify_event(record, KEY.public_key())
