"""Migration 0015: a ledger written at 0014 upgrades in place (no row rewritten), and then
the two lookups that scanned — the reversals of a reward (`verify --since`) and the
test-model events among an account's rewards (`balance`, the portal) — read their partial
indexes, on both backends (the plans the databases choose for the statements the code runs)."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

from sqlalchemy import event, inspect, text

from ledger.views.accounts import paid_by_test_models
from ledger.books.db import upgrade_to_head
from ledger.books.reversals import reverse_event
from ledger.transparency.tree import create_checkpoint
from ledger.audit.since import verify_since
from services.signed_rewards import enrol, reward
from tests.ledger.support import ledger_at
from tests.payouts.support import eid

WHEN = datetime(2026, 11, 3, 9, tzinfo=UTC)


def _plan(connection, statement: str, parameters) -> str:
    """The plan the database chooses for `statement` (PostgreSQL told to avoid a sequential
    scan where it can: these tables are tiny, and the question is whether an index serves)."""
    if connection.dialect.name == "sqlite":
        return "\n".join(row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")  # this transaction only
    return "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters))


class Statements:
    """The statements an engine runs that name `needle`, with their parameters."""

    def __init__(self, engine, needle: str) -> None:
        self.engine, self.needle, self.seen = engine, needle, []

    def __enter__(self) -> list[tuple[str, object]]:
        event.listen(self.engine, "before_cursor_execute", self._keep)
        return self.seen

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._keep)

    def _keep(self, _conn, _cursor, statement, parameters, _context, _many) -> None:
        if self.needle in statement:
            self.seen.append((statement, parameters))


def test_a_ledger_at_0014_upgrades_in_place_and_its_lookups_read_their_indexes(database_url, tmp_path):
    ledger = ledger_at(database_url, str(tmp_path / "keys"), "0014_artist_style_allowances")
    engine = ledger.engine
    signers = enrol(ledger)
    for n in range(2):
        reward(ledger, signers, eid(f"e{n}"), {"artist:monet": Fraction(2, 5), "model:sd-1.5": Fraction(3, 5)},
               1_000_000 + n, when=WHEN)
    kept = create_checkpoint(engine, ledger.signer)
    reverse_event(ledger, eid("e1"), "withdrawn by the platform")  # after the kept checkpoint, of rewards before it
    with engine.connect() as connection:
        before = connection.execute(text("SELECT seq, hash FROM transfers ORDER BY seq")).all()
    upgrade_to_head(engine)

    with engine.connect() as connection:
        assert connection.execute(text("SELECT seq, hash FROM transfers ORDER BY seq")).all() == before
    indexes = {table: {index["name"] for index in inspect(engine).get_indexes(table)} for table in ("transfers", "events")}
    assert "ix_transfers_reverses" in indexes["transfers"] and "ix_events_test_model" in indexes["events"]
    with Statements(engine, "reverses_id =") as reversals:
        report = verify_since(engine, kept.note)
    assert report.ok and report.checked == 2, report.problem  # the two reversal legs after the kept checkpoint
    with Statements(engine, "test_model") as production:  # no test model ever: one probe of an empty index
        assert paid_by_test_models(engine, "artist:monet") is False
    reward(ledger, signers, eid("e2"), {"artist:van-gogh": Fraction(2, 5), "model:sd-1.5": Fraction(3, 5)},
           1_000_000, when=WHEN, test_model=True)
    with Statements(engine, "test_model") as tested:
        flags = {account: paid_by_test_models(engine, account)
                 for account in ("artist:van-gogh", "artist:monet", "platform:acme", "model:sd-1.5")}
    assert flags == {"artist:van-gogh": True, "artist:monet": False, "platform:acme": True, "model:sd-1.5": True}
    assert len(reversals) == 2 and len(production) == 1 and len(tested) == 8  # a reversal query per reward taken back
    with engine.connect() as connection:
        plans = {kind: [_plan(connection, statement, parameters) for statement, parameters in found]
                 for kind, found in (("reversals", reversals), ("probe", production), ("joined", tested[1::2]))}
    assert all("ix_transfers_reverses" in plan for plan in plans["reversals"]), plans["reversals"]
    assert "ix_events_test_model" in plans["probe"][0], plans["probe"]
    for plan in plans["reversals"] + plans["probe"] + plans["joined"]:  # never a scan of every event or transfer
        assert "Seq Scan" not in plan, plan
        assert all("ix_events_test_model" in line for line in plan.splitlines() if line.startswith("SCAN")), plan
    engine.dispose()
