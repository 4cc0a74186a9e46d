"""Statements read `method.test_model` from the recorded attributions and say so in every
file: the PDF's first page, the JSON and both CSVs (both backends)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from fractions import Fraction

from tests.payouts.support import MODEL, at
from pypdf import PdfReader

from ledger.payouts.close import close_period
from ledger.payouts.periods import parse_period
from ledger.statements.export import export_statements, statements_for

SPLIT = {"artist:van-gogh": Fraction(3, 5), MODEL: Fraction(2, 5)}
OCT, NOV = parse_period("2026-10"), parse_period("2026-11")


def export(env, period, out):
    close_period(env.ledger, period, "USD", 0, now=datetime(2027, 2, 1, tzinfo=UTC))
    export_statements(env.engine, env.signer, period, "USD", ["csv", "json", "pdf"], out)
    pages = [page.extract_text() for page in PdfReader(out / f"statements-{period.id}-USD.pdf").pages]
    document = json.loads((out / f"statements-{period.id}-USD.json").read_text())
    with (out / f"lines-{period.id}-USD.csv").open() as handle:
        flags = {(row["event_id"][:8], row["account"], row["test_model"]) for row in csv.DictReader(handle)}
    return pages, document, flags


def test_a_period_with_test_model_events_says_so_and_one_without_does_not(env, tmp_path):
    env.reward("tiny", at(3, 10), 1_000_000, SPLIT, test_model=True)
    env.reward("real", at(4, 10), 2_000_000, SPLIT, test_model=False)
    env.reward("old-row", at(5, 11), 3_000_000, SPLIT)  # an attribution recorded without a method
    statements, summary = statements_for(env.engine, OCT, "USD")
    assert summary.test_model and all(statement.test_model for statement in statements)
    assert [line.test_model for line in statements[0].lines] == [True, False]

    pages, document, flags = export(env, OCT, tmp_path / "oct")
    assert "TEST MODEL: SHARES MEAN NOTHING" in pages[0] and "2 of the 4 reward lines" in pages[0]
    assert all("SHARES MEAN NOTHING" in page for page in pages)  # the notice, then a banner on every later page
    assert document["summary"]["test_model"] is True
    assert {line["test_model"] for s in document["statements"] for line in s["lines"] if line["kind"] == "reward"} \
        == {True, False}
    assert sorted(flag for *_, flag in flags) == ["no", "no", "no", "no", "yes", "yes"]  # 2 payouts, 2 + 2 rewards

    pages, document, flags = export(env, NOV, tmp_path / "nov")
    assert not any("TEST MODEL" in page.upper() for page in pages)
    assert document["summary"]["test_model"] is False and {flag for *_, flag in flags} == {"no"}
