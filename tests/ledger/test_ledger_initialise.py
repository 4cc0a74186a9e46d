"""`fairsplit init` as one ledger operation (`ledger.initialise`): a new ledger gets its
schema, key and genesis entry; running it again changes nothing and says so."""

from __future__ import annotations

from ledger.books.db import head_revision, make_engine
from ledger.initialise import initialise


def test_a_new_ledger_is_made_ready_once_and_then_left_as_it_is(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    first = initialise(engine, tmp_path / "keys")
    assert (first.schema_before, first.schema) == (None, head_revision())
    assert (first.key_created, first.key_history, first.evidence_start, first.appendable) == (True, "genesis", False, None)
    again = initialise(engine, tmp_path / "keys")
    assert (again.schema_before, again.schema) == (head_revision(), head_revision())
    assert (again.key_created, again.key_history, again.evidence_start) == (False, None, False)
    assert again.signer.key_id == first.signer.key_id
    engine.dispose()
