"""The evidence pass of `ledger verify --since`: resumed where a kept checkpoint ends.

`ledger.evidence.audit.EvidenceCheck` carries state from the log's first entry: the
platform and worker key history, the legacy rewards counted before the evidence start, the
evidence already paid and what reversals took back. Resumed after seq `after` (a prefix
the verify that kept the checkpoint checked), it starts from that state as the database
gives it, never from the whole prefix:
- the key history: every key entry at or before `after` (the key entries' index);
- the legacy count: the evidence start's own count when it is at or before `after`; else
  the unbound rewards through `after` (a ledger whose upgrade is not finished);
- evidence paid before: when a run of rewards closes, a reward of its event at or before
  `after` with the same memo (the event index) is a second payment;
- reversals before: what earlier reversals of the same reward took back through `after`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from ledger.evidence.rewards import memo_digest
from ledger.books.schema import TRANSFERS
from ledger.evidence.audit import EvidenceCheck, Problem, problem_at

_STREAM = 10_000


def resumed_evidence_check(engine: Engine, after: int = 0) -> EvidenceCheck:
    """The evidence pass for the entries after seq `after` (the full pass when 0)."""
    return EvidenceCheck(engine) if after == 0 else ResumedEvidenceCheck(engine, after=after)


@dataclass
class ResumedEvidenceCheck(EvidenceCheck):
    after: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        with self.engine.connect() as connection:
            keys = select(TRANSFERS).where(TRANSFERS.c.kind == "key", TRANSFERS.c.seq <= self.after)
            for row in connection.execute(keys.order_by(TRANSFERS.c.seq)).mappings():
                self.keys.apply(row)  # checked when the prefix was verified
            start = self.keys.evidence_start
            if start is not None and start <= self.after:
                self.legacy = self.keys.legacy_rewards
                return
            through = min(self.after, self.legacy_through) if self.legacy_through else 0
            memos = select(TRANSFERS.c.memo).where(TRANSFERS.c.kind == "reward", TRANSFERS.c.seq <= through)
            self.legacy = sum(memo_digest(memo) is None for memo in
                              connection.execution_options(yield_per=_STREAM).execute(memos).scalars())

    def _close(self, closed: list[tuple]) -> Problem | None:
        run = self._run
        if run:
            with self.engine.connect() as connection:
                earlier = connection.execute(select(TRANSFERS.c.seq).where(
                    TRANSFERS.c.event_id == run[0]["event_id"], TRANSFERS.c.kind == "reward",
                    TRANSFERS.c.memo == run[0]["memo"], TRANSFERS.c.seq <= self.after).limit(1)).scalar()
            if earlier is not None:
                return problem_at(run[0], f"evidence {memo_digest(run[0]['memo'])[:16]} pays a second time "
                                   f"(first at seq {earlier})")
        return super()._close(closed)

    def _taken_back(self, row: dict, originals) -> Problem | None:
        original = originals.get(row["reverses_id"]) if row["kind"] == "reversal" else None
        if original is not None and original["id"] not in self._reversed:
            with self.engine.connect() as connection:
                self._reversed[original["id"]] = int(connection.execute(select(
                    func.coalesce(func.sum(TRANSFERS.c.amount), 0)).where(
                    TRANSFERS.c.kind == "reversal", TRANSFERS.c.reverses_id == original["id"],
                    TRANSFERS.c.seq <= self.after)).scalar())
        return super()._taken_back(row, originals)
