"""The shape of the house: rooms by concern, each saying what it owns, no module too long.

The ledger keeps at most 8 modules at its top (the words every room shares: errors, ids,
money, crypto, strict JSON, invariants) and its work in sub-packages, each opened by a
docstring that says what it owns and what it may import. No module of the four code
packages runs over 450 lines: past that a module holds more than one job."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 450


def test_the_ledger_is_rooms_with_a_small_hall():
    top = sorted(path.name for path in (ROOT / "ledger").glob("*.py"))
    rooms = sorted(path.parent.name for path in (ROOT / "ledger").glob("*/__init__.py"))
    assert len(top) <= 8, top
    assert len(rooms) >= 3, rooms
    assert {"books", "payouts", "tlog", "transparency", "keys"} <= set(rooms)


def test_every_room_says_what_it_owns_and_may_import():
    for init in sorted((ROOT / "ledger").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert len(doc.split()) >= 25, f"{init.parent.name}: its docstring is missing or too short"
        assert "import" in doc, f"{init.parent.name}: its docstring does not say what it may import"


def test_no_module_runs_over_the_limit():
    long = {str(path.relative_to(ROOT)): lines
            for package in ("fairsplit", "ledger", "services", "commands")
            for path in (ROOT / package).rglob("*.py")
            if (lines := len(path.read_text().splitlines())) > LIMIT}
    assert long == {}, long
