"""One definition per meaning (issue 21): the shared helpers behave as every caller needs."""

from __future__ import annotations

from ledger.errors import first_line, one_line
from services.stream.messages import reason_of


def test_a_reason_is_its_first_line_collapsed_and_cut_with_an_ellipsis():
    assert first_line("  duplicate key\tvalue \n[SQL: INSERT INTO transfers …]\n") == "duplicate key value"
    assert first_line("\n \n") == ""
    assert first_line("x" * 301) == "x" * 299 + "…" and len(first_line("x" * 301)) == 300
    assert first_line("x" * 300) == "x" * 300
    assert one_line("a\nb\r\n  c", limit=4) == "a b…"
    assert reason_of(ValueError("bad\nstack")) == "bad"
    assert reason_of(ValueError("  ")) == "ValueError"


def test_canonical_json_is_the_one_compact_spelling():
    import pytest

    from ledger.crypto import canonical_json, canonical_text

    assert canonical_text({"b": [1, {"d": "é", "c": None}], "a": 0.5}) == '{"a":0.5,"b":[1,{"c":null,"d":"é"}]}'
    assert canonical_json({"z": 1, "signature": "x", "a": "€"}) == '{"a":"€","z":1}'.encode()
    with pytest.raises(ValueError):
        canonical_text({"a": float("nan")})
