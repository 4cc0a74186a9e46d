"""Signed notes, cosignature/v1 and the add-checkpoint decision, against the published vectors.

Vectors (copied as data, with where they were published):
- C2SP signed-note, "Verifier keys / Example": a vkey and the note it verifies;
- golang.org/x/mod sumdb/note (package example): PeterNeumann's private key, text and
  signature — Ed25519 is deterministic, so signing must reproduce it byte for byte;
- C2SP tlog-cosignature: the example cosigned message and the example cosignature line;
- transparency-dev/formats note/note_cosigv1_test.go: a native type-0x04 vkey, a type-0x01
  vkey, and a cosignature whose timestamp is 1727964367;
- C2SP tlog-witness: the example add-checkpoint request body.
"""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from ledger.tlog.checkpoint import (
    Checkpoint,
    CheckpointError,
    NoteKey,
    open_note,
    sign_checkpoint,
    sign_note,
)
from ledger.tlog.cosignature import (
    CosignerKey,
    cosign,
    cosigned_message,
    parse_key_file,
    parse_vkey,
    require_quorum,
    verified_cosignatures,
    with_cosignatures,
)
from ledger.tlog.merkle import EMPTY_ROOT, MemoryTree
from ledger.tlog.witness_protocol import (
    AddCheckpoint,
    Refusal,
    decide,
    format_request,
    parse_request,
    parse_size_response,
)

SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = ("This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONnc"
             "AlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n")
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_LINE = "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
SOFA = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SOFA_COSIGNATURE = ("jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe"
                    "+mbIUBkBIfZ+qnA==")
FORMATS_COSIG_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
FORMATS_NOTE_VKEY = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
FORMATS_COSIGNATURE = ("ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiE"
                       "BYJXORmnFBOBA==")
WITNESS_REQUEST = """old 20852014
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=

example.com/behind-the-sofa
20852163
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
\u2014 example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=
"""

LOG = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
WITNESS = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(64, 96)))
W1 = CosignerKey("witness.example/w1", WITNESS.public_key())
W2 = CosignerKey("witness.example/w2", OTHER.public_key())
ORIGIN = "fairsplit.example/ledger"
TIME = 1_764_000_000


def note_key_from_vkey(vkey: str) -> NoteKey:
    name, _, material = vkey.split("+", 2)
    blob = base64.b64decode(material)
    assert blob[0] == 0x01
    return NoteKey(name, Ed25519PublicKey.from_public_bytes(blob[1:]))


# --- signed notes (type 0x01) -------------------------------------------------------------


def test_the_signed_note_spec_example_verifies_and_its_key_id_is_recomputed():
    key = note_key_from_vkey(SPEC_VKEY)
    assert key.key_hash.hex() == "530d903a"
    assert open_note(SPEC_NOTE, [key])[0] == "This is an example message.\n"
    with pytest.raises(CheckpointError, match="does not verify"):
        open_note(SPEC_NOTE.replace("example message", "example massage"), [key])


def test_signing_reproduces_the_go_sumdb_note_example_byte_for_byte():
    seed = base64.b64decode(GO_SKEY.split("+", 4)[4])
    assert seed[0] == 0x01
    private_key = Ed25519PrivateKey.from_private_bytes(seed[1:])
    assert sign_note(GO_TEXT, "PeterNeumann", private_key) == GO_TEXT + "\n" + GO_LINE
    assert NoteKey("PeterNeumann", private_key.public_key()).key_hash.hex() == "c74f20a3"


# --- cosignature/v1 (type 0x04) -------------------------------------------------------------


def test_the_cosigned_message_is_the_one_the_spec_shows():
    assert cosigned_message(SOFA, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\n" + SOFA.encode()
    )
    blob = base64.b64decode(SOFA_COSIGNATURE)
    assert len(blob) == 4 + 8 + 64 and struct.unpack(">Q", blob[4:12])[0] == 1679315147


def test_published_witness_keys_parse_and_their_key_ids_are_recomputed():
    key = parse_vkey(FORMATS_COSIG_VKEY)
    assert key.name == "remora.n621.de" and key.key_id.hex() == "da77ade7" and key.vkey() == FORMATS_COSIG_VKEY
    raw = base64.b64decode(FORMATS_COSIG_VKEY.split("+", 2)[2])[1:]
    assert hashlib.sha256(b"remora.n621.de\n\x04" + raw).digest()[:4] == key.key_id
    with pytest.raises(CheckpointError, match="not a cosignature/v1"):
        parse_vkey(FORMATS_NOTE_VKEY)  # a note (type 0x01) key is not a witness key


def test_a_published_cosignature_carries_its_timestamp():
    blob = base64.b64decode(FORMATS_COSIGNATURE)
    assert struct.unpack(">Q", blob[4:12])[0] == 1727964367


@pytest.mark.parametrize("vkey, reason", [
    ("bananas.sigstore.dev+12344556", "must read"),
    ("rekor.sigstore.dev+12345678+THIS_IS_NOT_BASE64!", "base64"),
    ("rekor.sigstore.dev+12345678+AwEB", "not a cosignature/v1"),
    ("rekor.sigstore.dev+NOT_A_NUMBER+" + FORMATS_COSIG_VKEY.split("+", 2)[2], "8 lower-case hex"),
    ("remora.n621.de+00000000+" + FORMATS_COSIG_VKEY.split("+", 2)[2], "key id"),
    ("bad name+da77ade7+" + FORMATS_COSIG_VKEY.split("+", 2)[2], "without spaces"),
])
def test_malformed_witness_keys_are_refused_with_a_reason(vkey, reason):
    with pytest.raises(CheckpointError, match=reason):
        parse_vkey(vkey)


def test_a_key_file_holds_vkeys_and_comments():
    keys = parse_key_file(f"# witness of the artists' guild\n{W1.vkey()}\n\n{W2.vkey()}\n".encode())
    assert [k.name for k in keys] == [W1.name, W2.name]
    with pytest.raises(CheckpointError, match="no witness key"):
        parse_key_file(b"# empty\n")


def signed(size: int = 5, root: bytes | None = None) -> tuple[Checkpoint, str]:
    checkpoint = Checkpoint(ORIGIN, size, root or MemoryTree(b"%d" % i for i in range(size)).root())
    return checkpoint, sign_checkpoint(checkpoint, LOG)


def test_a_cosignature_round_trips_and_every_flipped_bit_is_rejected():
    checkpoint, note = signed()
    line = cosign(checkpoint.text(), W1.name, WITNESS, TIME)
    cosignatures = require_quorum(note + line, [W1], 1)
    assert [(c.key.name, c.timestamp, c.line + "\n") for c in cosignatures] == [(W1.name, TIME, line)]
    data = (note + line).encode()
    start = len(note.encode())
    for bit in range(start * 8, len(data) * 8):  # every bit of the cosignature line
        bad = bytearray(data)
        bad[bit // 8] ^= 1 << (bit % 8)
        try:
            found = verified_cosignatures(bytes(bad), [W1])
        except CheckpointError:
            continue
        assert found == [], "a damaged cosignature line was accepted"
    altered = (note + line).replace(f"\n{checkpoint.size}\n", f"\n{checkpoint.size + 1}\n")
    with pytest.raises(CheckpointError, match="does not verify"):
        verified_cosignatures(altered, [W1])


def test_unknown_witnesses_are_ignored_and_quorum_counts_distinct_witnesses():
    checkpoint, note = signed()
    one = cosign(checkpoint.text(), W1.name, WITNESS, TIME)
    again = cosign(checkpoint.text(), W1.name, WITNESS, TIME + 60)
    stranger = cosign(checkpoint.text(), "stranger.example", Ed25519PrivateKey.generate(), TIME)
    assert len(require_quorum(note + one + again + stranger, [W1, W2], 1)) == 1
    with pytest.raises(CheckpointError, match="1 of the 2 required"):
        require_quorum(note + one + again + stranger, [W1, W2], 2)
    both = note + one + cosign(checkpoint.text(), W2.name, OTHER, TIME)
    assert {c.key.name for c in require_quorum(both, [W1, W2], 2)} == {W1.name, W2.name}
    with pytest.raises(CheckpointError, match="quorum must be between 1 and the 2"):
        require_quorum(both, [W1, W2], 3)


def test_a_log_signature_is_not_a_cosignature_even_under_the_same_name_and_key():
    checkpoint, note = signed()
    same = CosignerKey(ORIGIN, LOG.public_key())  # the log's own key, as if it were a witness
    with pytest.raises(CheckpointError, match="0 of the 1 required"):
        require_quorum(note, [same], 1)


def test_a_cosignature_without_a_time_is_refused():
    checkpoint, note = signed()
    with pytest.raises(CheckpointError, match="whole number of seconds"):
        cosign(checkpoint.text(), W1.name, WITNESS, 0)
    blob = W1.key_id + struct.pack(">Q", 0) + WITNESS.sign(b"cosignature/v1\ntime 0\n" + checkpoint.text().encode())
    with pytest.raises(CheckpointError, match="no valid time"):
        verified_cosignatures(note + f"\u2014 {W1.name} {base64.b64encode(blob).decode()}\n", [W1])


def test_cosignature_lines_are_appended_once():
    checkpoint, note = signed()
    line = cosign(checkpoint.text(), W1.name, WITNESS, TIME)
    assert with_cosignatures(note, [line, line.rstrip("\n")]) == note + line
    assert with_cosignatures(note + line, [line]) == note + line


# --- add-checkpoint ---------------------------------------------------------------------------


def test_the_spec_example_request_parses_and_round_trips():
    request = parse_request(WITNESS_REQUEST.encode())
    assert request.old_size == 20852014 and len(request.proof) == 4
    assert request.note.startswith("example.com/behind-the-sofa\n20852163\n")
    assert format_request(request.old_size, request.proof, request.note) == WITNESS_REQUEST.encode()
    assert parse_size_response(b"20852163\n") == 20852163


@pytest.mark.parametrize("body, reason", [
    ("old 01\n\nx", "leading zeros"),
    ("old -1\n\nx", "decimal"),
    ("new 1\n\nx", "must start with an 'old"),
    ("old 1\nx", "no empty line"),
    ("old 1\nnot base64!\n\nx", "base64"),
    ("old 1\n" + base64.b64encode(bytes(31)).decode() + "\n\nx", "32-byte"),
    ("old 1\n" + (base64.b64encode(bytes(32)).decode() + "\n") * 64 + "\nx", "more than 63"),
])
def test_malformed_requests_are_400_with_a_reason(body, reason):
    with pytest.raises(Refusal, match=reason) as refused:
        parse_request(body.encode())
    assert refused.value.status == 400


def request(old: int, new: Checkpoint, tree: MemoryTree | None, note: str | None = None) -> AddCheckpoint:
    proof = [] if tree is None or old in (0, new.size) else tree.consistency_proof(old, new.size)
    return AddCheckpoint(old, proof, note or sign_checkpoint(new, LOG))


def test_the_witness_decision_follows_the_status_codes_of_the_spec():
    tree = MemoryTree(b"%d" % i for i in range(20))
    keys = [NoteKey(ORIGIN, LOG.public_key())]
    at = {n: Checkpoint(ORIGIN, n, tree.root(n)) for n in (0, 8, 12, 20)}
    assert decide(request(0, at[8], tree), keys, None) == at[8]
    assert decide(request(8, at[20], tree), keys, at[8]) == at[20]
    assert decide(request(12, at[12], tree), keys, at[12]) == at[12]  # the same tree again: cosigned again

    def refused(status: int, req: AddCheckpoint, held: Checkpoint | None, trusted=keys) -> Refusal:
        with pytest.raises(Refusal) as caught:
            decide(req, trusted, held)
        assert caught.value.status == status, caught.value.message
        return caught.value

    refused(404, request(0, at[8], tree), None, trusted=None)
    stranger = sign_checkpoint(at[8], Ed25519PrivateKey.generate())
    refused(403, request(0, at[8], tree, stranger), None)
    forged = sign_checkpoint(at[8], LOG).replace("\n8\n", "\n9\n")
    refused(403, request(0, at[8], tree, forged), None)
    refused(400, AddCheckpoint(20, [], sign_checkpoint(at[12], LOG)), at[12])
    conflict = refused(409, request(0, at[20], tree), at[12])
    assert conflict.size == 12
    assert refused(409, request(8, at[20], tree), None).size == 0
    other = MemoryTree(b"other %d" % i for i in range(20))
    rewritten = Checkpoint(ORIGIN, 20, other.root())
    assert "not consistent" in refused(422, request(12, rewritten, other), at[12]).message
    # the same size with another root: 409 (C2SP tlog-witness), not 422
    refused(409, AddCheckpoint(12, [], sign_checkpoint(Checkpoint(ORIGIN, 12, other.root(12)), LOG)), at[12])
    refused(422, AddCheckpoint(0, tree.consistency_proof(8, 20), sign_checkpoint(at[20], LOG)), None)
    refused(422, request(0, Checkpoint(ORIGIN, 0, bytes(32)), None), None)
    assert decide(request(0, Checkpoint(ORIGIN, 0, EMPTY_ROOT), None), keys, None).size == 0
