"""Fuzzing what a witness and a verifier read from strangers: requests, responses, cosigned notes.

Whatever the bytes, the witness answers with a `Refusal` (a status and one sentence) or
cosigns a checkpoint that really extends the one it holds; the cosignature verifier
raises only `CheckpointError` and never reports a cosignature that was altered.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.tlog.checkpoint import Checkpoint, CheckpointError, NoteKey, sign_checkpoint
from ledger.tlog.cosignature import (
    CosignerKey,
    cosign,
    parse_key_file,
    verified_cosignatures,
)
from ledger.tlog.merkle import MemoryTree
from ledger.tlog.witness_protocol import (
    Refusal,
    decide,
    format_request,
    parse_request,
    parse_size_response,
)

LOG = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
WITNESS = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
W1 = CosignerKey("witness.example/w1", WITNESS.public_key())
ORIGIN = "fairsplit/ledger"
KEYS = [NoteKey(ORIGIN, LOG.public_key())]
TREE = MemoryTree(b"%d" % i for i in range(40))
HELD = Checkpoint(ORIGIN, 16, TREE.root(16))
NEW = Checkpoint(ORIGIN, 40, TREE.root(40))
GOOD = format_request(16, TREE.consistency_proof(16, 40), sign_checkpoint(NEW, LOG))
NOTE = sign_checkpoint(NEW, LOG) + cosign(NEW.text(), W1.name, WITNESS, 1_764_000_000)
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def witness_answer(body: bytes) -> Checkpoint | Refusal:
    try:
        return decide(parse_request(body), KEYS, HELD)
    except Refusal as refusal:
        assert 400 <= refusal.status < 500 and refusal.message.endswith(".") and "\n" not in refusal.message
        return refusal


@FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_request_bodies_are_refused_with_a_status(body):
    answer = witness_answer(body)
    assert isinstance(answer, Refusal) or answer == NEW


@FUZZ
@given(st.integers(0, len(GOOD) * 8 - 1))
def test_a_damaged_request_is_never_cosigned_as_something_else(bit):
    damaged = bytearray(GOOD)
    damaged[bit // 8] ^= 1 << (bit % 8)
    answer = witness_answer(bytes(damaged))
    assert isinstance(answer, Refusal) or answer == NEW  # whatever is still accepted is the very same tree


@FUZZ
@given(st.integers(0, len(NOTE.encode()) * 8 - 1))
def test_a_damaged_cosigned_note_never_yields_a_cosignature_of_another_text(bit):
    damaged = bytearray(NOTE.encode())
    damaged[bit // 8] ^= 1 << (bit % 8)
    try:
        found = verified_cosignatures(bytes(damaged), [W1])
    except CheckpointError:
        return
    if found:  # only possible if the text is untouched
        assert bytes(damaged).decode().startswith(NEW.text())


@FUZZ
@given(st.binary(max_size=512))
def test_arbitrary_key_files_and_size_answers_fail_cleanly(data):
    try:
        parse_key_file(data)
    except CheckpointError:
        pass
    try:
        assert parse_size_response(data) >= 0
    except ValueError:
        pass
