"""The C2SP tlog-witness `add-checkpoint` exchange: its messages, and the witness's decision.

Request body (POST <prefix>/add-checkpoint), every line ending in a newline:

    old <size the client believes the witness holds, decimal, no leading zeros>
    <consistency proof hash, base64>          (0 to 63 lines: RFC 6962 from old to new)
    <empty line>
    <the signed checkpoint note>

Responses: 200 with one cosignature line per witness key; 409 Conflict with the
witness's size ("<decimal>\\n", content type text/x.tlog.size) when `old` is not it, or
when the checkpoint has the size it holds with another root hash; 404 unknown origin;
403 no valid signature by a trusted key of the origin (or a bad one), or a signature by
a trusted key outside its range (`key_problem`: the key is not the one current at the
checkpoint's size); 400 malformed, or old larger than the checkpoint; 422 the proof does
not verify, a non-empty proof from 0, a size-0 checkpoint not of the empty tree, or a
`time` line earlier than the held checkpoint's (or missing where the held one had one):
a log's clock only moves forward, so a backdated checkpoint is never cosigned.

`decide` is the witness's whole check, pure: given the request and the checkpoint it
holds for the origin (read and later replaced under one lock by the server), it returns
the checkpoint to cosign or raises `Refusal(status, sentence)`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ledger.tlog.checkpoint import Checkpoint, CheckpointError, NoteKey, b64decode_strict, open_checkpoint, parse_note
from ledger.tlog.merkle import EMPTY_ROOT, HASH_SIZE, MAX_TREE_SIZE, ProofError, verify_consistency

MAX_PROOF_LINES = 63
MAX_REQUEST_BYTES = 256 << 10
SIZE_CONTENT_TYPE = "text/x.tlog.size"
_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")


class Refusal(Exception):
    """The witness refuses: HTTP `status`, one sentence; `size` set on a 409 Conflict."""

    def __init__(self, status: int, message: str, size: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.size = status, message, size


@dataclass(frozen=True)
class AddCheckpoint:
    old_size: int
    proof: list[bytes]
    note: str


def _size(text: str, what: str) -> int:
    if not _SIZE.fullmatch(text) or int(text) > MAX_TREE_SIZE:
        raise Refusal(400, f"{what} must be a decimal number of at most 2^63-1 without leading zeros.")
    return int(text)


def format_request(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    """The add-checkpoint body the log sends."""
    lines = "".join(base64.b64encode(digest).decode() + "\n" for digest in proof)
    return f"old {old_size}\n{lines}\n{note}".encode()


def parse_request(body: bytes) -> AddCheckpoint:
    """An add-checkpoint body, strictly; Refusal(400) when malformed."""
    if len(body) > MAX_REQUEST_BYTES:
        raise Refusal(413, f"The request is larger than {MAX_REQUEST_BYTES} bytes.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(400, "The request is not UTF-8 text.") from None
    head, blank, note = text.partition("\n\n")
    if not blank:
        raise Refusal(400, "The request has no empty line between the proof and the checkpoint.")
    lines = head.split("\n")
    if not lines[0].startswith("old "):
        raise Refusal(400, "The request must start with an 'old <size>' line.")
    old_size = _size(lines[0][4:], "The old size")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise Refusal(400, f"The consistency proof has more than {MAX_PROOF_LINES} lines.")
    proof = []
    for number, line in enumerate(lines[1:], 1):
        try:
            digest = b64decode_strict(line, f"Consistency proof line {number}")
        except CheckpointError as exc:
            raise Refusal(400, str(exc)) from None
        if len(digest) != HASH_SIZE:
            raise Refusal(400, f"Consistency proof line {number} is not a {HASH_SIZE}-byte hash.")
        proof.append(digest)
    return AddCheckpoint(old_size, proof, note)


def origin_of(note: str) -> str:
    """The checkpoint's origin (its first line), after checking the note's structure (400 if bad)."""
    try:
        text, _ = parse_note(note)
        return Checkpoint.parse(text).origin
    except CheckpointError as exc:
        raise Refusal(400, f"The checkpoint is malformed: {exc}") from None


def decide(
    request: AddCheckpoint,
    log_keys: Sequence[NoteKey] | None,
    held: Checkpoint | None,
    key_problem: Callable[[NoteKey, Checkpoint], str | None] = lambda key, checkpoint: None,
) -> Checkpoint:
    """The checkpoint to cosign, or Refusal; `held` is the witness's latest for this origin.

    `log_keys`: the keys trusted for the origin (None: unknown origin). `key_problem`
    says why a trusted key could not have signed this checkpoint (not the key current at
    its size), if so.
    """
    origin = origin_of(request.note)
    if log_keys is None:
        raise Refusal(404, f"This witness does not know the log {origin!r}.")
    try:
        checkpoint, key = open_checkpoint(request.note, log_keys)
    except CheckpointError as exc:
        raise Refusal(403, f"The checkpoint is not validly signed by the log: {exc}") from None
    problem = key_problem(key, checkpoint)
    if problem is not None:
        raise Refusal(403, f"The checkpoint is signed by a key outside its range: {problem}.")
    if request.old_size > checkpoint.size:
        raise Refusal(400, f"The old size {request.old_size} is larger than the checkpoint's size {checkpoint.size}.")
    held_size = 0 if held is None else held.size
    if request.old_size != held_size:
        raise Refusal(409, f"This witness holds a checkpoint of size {held_size}, not {request.old_size}.", held_size)
    _check_time(checkpoint, held)
    if checkpoint.size == 0 and checkpoint.root_hash != EMPTY_ROOT:
        raise Refusal(422, "A checkpoint of size 0 must have the root hash of the empty tree.")
    if held is not None and checkpoint.size == held.size and checkpoint.root_hash != held.root_hash:
        raise Refusal(409, f"This witness holds another root hash for size {held_size}.", held_size)
    if held is None:
        if request.proof:
            raise Refusal(422, "A consistency proof from size 0 must be empty.")
        return checkpoint
    try:
        verify_consistency(held.size, checkpoint.size, held.root_hash, checkpoint.root_hash, request.proof)
    except ProofError as exc:
        raise Refusal(422, f"The checkpoint is not consistent with the one this witness holds: {exc}") from None
    return checkpoint


def _check_time(checkpoint: Checkpoint, held: Checkpoint | None) -> None:
    """A checkpoint's time never goes backwards from the one this witness last cosigned."""
    if held is None or held.issued_at is None:
        return
    if checkpoint.issued_at is None:
        raise Refusal(422, "The checkpoint has no time line, but the one this witness holds has one.")
    if checkpoint.issued_at < held.issued_at:
        raise Refusal(422, "The checkpoint's time is earlier than that of the checkpoint this witness holds.")


def origin_hash(origin: str) -> str:
    """How the monitoring path names a log: lower-case hex SHA-256 of its origin line."""
    return hashlib.sha256(origin.encode()).hexdigest()


def parse_size_response(body: bytes) -> int:
    """The witness's size from a 409 Conflict body; ValueError if it is not one."""
    text = body.decode("ascii", "replace")
    if not text.endswith("\n") or not _SIZE.fullmatch(text[:-1]) or int(text[:-1]) > MAX_TREE_SIZE:
        raise ValueError("The witness's conflict response is not a tree size.")
    return int(text[:-1])
