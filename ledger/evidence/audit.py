"""`ledger verify`'s evidence pass: every reward is paid as signed evidence says.

Fed the rows `ledger.audit.chain` has found intact, in seq order, page by page:
- `key` entries build the log's key history (`ledger.keys.trusted`); a malformed one,
  or one contradicting the history, is a problem at its seq;
- the reward transfers of one event are one run of consecutive rows whose memos name
  the same evidence (`ledger.evidence.rewards`); the run is checked when it ends: the evidence
  is kept, hashes to the digest, both signatures verify with keys the log shows valid at
  the run's first seq, the run is exactly the split the evidence pays (every payee once,
  derived ids), and no evidence pays twice;
- a reward whose memo names no evidence is legacy only at or before the evidence
  start's `through_seq` (a ledger from before this check, upgraded); the count must be
  the one the evidence start recorded. Anywhere else it is a problem.

- a reversal takes back, between the same accounts, at most what an earlier reward
  paid; an adjustment has no evidence format, so every one is refused.

Memory: 32 bytes per event (the digests paid, to refuse a second payment).
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, select

from ledger.evidence.rewards import EvidenceError, check_rows, check_signatures, memo_digest, open_document
from ledger.evidence.store import documents
from ledger.books.schema import TRANSFERS
from ledger.books.store import transfer_id
from ledger.keys.trusted import KeyEntryError, TrustedKeys

_CHUNK = 64


@dataclass(frozen=True)
class Problem:
    """The first row (seq) that fails, why, and the last good row before it."""

    seq: int
    problem: str
    good_seq: int
    good_hash: str


@dataclass
class EvidenceCheck:
    engine: Engine
    keys: TrustedKeys = field(default_factory=TrustedKeys)
    legacy: int = 0  # unbound rewards seen before the evidence start
    legacy_through: int = 0
    _run: list[dict] = field(default_factory=list)
    _run_document: str | None = None
    _paid: set[bytes] = field(default_factory=set)
    _reversed: dict[str, int] = field(default_factory=dict)  # reward id -> micro-units reversed so far
    _upgrade_hint: str = ""  # set when the log has no evidence start

    def __post_init__(self) -> None:
        """Where legacy rewards end, read ahead (the stream checks that entry when it gets there)."""
        with self.engine.connect() as connection:
            starts = connection.execute(select(TRANSFERS.c.seq).where(
                TRANSFERS.c.kind == "key", TRANSFERS.c.event_id == "evidence-start").limit(2)).scalars().all()
        self.legacy_through = starts[0] - 1 if len(starts) == 1 else 0
        self._upgrade_hint = "" if starts else (" (a ledger from before evidence-bound rewards: run `fairsplit init` "
                                                "once to record its rewards so far as legacy)")

    def page(self, rows: list[dict]) -> Problem | None:
        """Check the rows of one page (after those of the pages before)."""
        wanted = {memo_digest(row["memo"]) for row in rows if row["kind"] == "reward"} - {None}
        if self._run:
            wanted.discard(memo_digest(self._run[0]["memo"]))
        reversed_ids = [row["reverses_id"] for row in rows if row["kind"] == "reversal" and row["reverses_id"]]
        with self.engine.connect() as connection:
            kept = documents(connection, wanted)
            originals = {row["id"]: row for row in connection.execute(
                select(TRANSFERS).where(TRANSFERS.c.id.in_(reversed_ids))).mappings()} if reversed_ids else {}
        closed: list[tuple] = []
        problem = None
        for row in rows:
            if self._run and row["kind"] == "reward" and row["memo"] == self._run[0]["memo"]:
                self._run.append(row)
                continue
            problem = self._close(closed) or self._row(row, kept) or self._taken_back(row, originals)
            if problem is not None:
                break
        return _first_problem(closed) or problem

    def finish(self) -> Problem | None:
        """Check the run of rewards still open (call once more after the last page)."""
        closed: list[tuple] = []
        return self._close(closed) or _first_problem(closed)

    def _close(self, closed: list[tuple]) -> Problem | None:
        """End the open run: refuse a second payment now, queue the rest of its checks."""
        run, document = self._run, self._run_document
        self._run, self._run_document = [], None
        if not run:
            return None
        key = bytes.fromhex(memo_digest(run[0]["memo"]))
        if key in self._paid:
            return problem_at(run[0], f"evidence {key.hex()[:16]} pays a second time")
        self._paid.add(key)
        closed.append((run, document, self.keys))
        return None

    def _row(self, row: dict, kept: Mapping[str, str]) -> Problem | None:
        if row["kind"] == "key":
            try:  # a new history object: runs queued before this entry keep the one they were paid under
                self.keys = replace(self.keys, keys=dict(self.keys.keys))
                self.keys.apply(row)
            except KeyEntryError as exc:
                return problem_at(row, f"bad key entry: {exc}")
            if self.keys.evidence_start == row["seq"] and self.keys.legacy_rewards != self.legacy:
                return problem_at(row, f"the evidence start counts {self.keys.legacy_rewards} legacy rewards before it, "
                                f"the log holds {self.legacy}")
            return None
        if row["kind"] != "reward":
            return None
        digest = memo_digest(row["memo"])
        if digest is None:
            if row["seq"] <= self.legacy_through:
                self.legacy += 1
                return None
            return problem_at(row, "reward without evidence: its memo names no signed event and result it was paid for"
                       + self._upgrade_hint)
        self._run, self._run_document = [row], kept.get(digest)
        return None

    def _taken_back(self, row: dict, originals: Mapping[str, Mapping[str, Any]]) -> Problem | None:
        """A reversal takes back at most what an earlier (so verified) reward paid; an
        adjustment has no evidence format, so none is trusted."""
        if row["kind"] == "adjustment":
            return problem_at(row, "adjustment without evidence: no signed evidence can back one")
        if row["kind"] != "reversal":
            return None
        original = originals.get(row["reverses_id"])
        if (original is None or original["kind"] != "reward" or original["seq"] >= row["seq"]
                or (row["debit_account"], row["credit_account"], row["currency"])
                != (original["credit_account"], original["debit_account"], original["currency"])):
            return problem_at(row, "the reversal does not take back an earlier reward between the same accounts")
        taken = self._reversed.get(original["id"], 0) + row["amount"]
        if taken > original["amount"]:
            return problem_at(row, f"reversals take back more than reward seq {original['seq']} paid")
        self._reversed[original["id"]] = taken
        return None


def _first_problem(closed: list[tuple]) -> Problem | None:
    """Check queued runs on worker threads (Ed25519 releases the GIL); the first problem in seq order."""
    if len(closed) < 8:
        results = [_run_problem(*item) for item in closed]
    else:
        chunks = [closed[i : i + _CHUNK] for i in range(0, len(closed), _CHUNK)]
        results = [r for chunk in _pool().map(lambda c: [_run_problem(*item) for item in c], chunks) for r in chunk]
    return next((problem for problem in results if problem is not None), None)


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="ledger-evidence")


def _run_problem(run: list[dict], document: str | None, keys: TrustedKeys) -> Problem | None:
    first, digest = run[0], memo_digest(run[0]["memo"])
    if document is None:
        return problem_at(first, f"reward without evidence: evidence {digest[:16]} named by its memo is not kept")
    try:
        evidence = open_document(document, digest)
        check_signatures(evidence, keys, first["seq"])
        check_rows(evidence, run, complete=True)
    except EvidenceError as exc:
        return problem_at(first, str(exc))
    for row in run:
        if row["id"] != transfer_id(row["event_id"], row["credit_account"], "reward"):
            return problem_at(row, "the reward's id is not derived from its event and payee")
    return None


def problem_at(row: Mapping[str, Any], problem: str) -> Problem:
    return Problem(row["seq"], problem, row["seq"] - 1, row["prev_hash"])
