"""The hostile-input corpus: every way an event line was found to mint, double, block or
crash, through `ingest` (SQLite and PostgreSQL) and through the broker, plus generated
lines. Each bad line gets one sentence (≤ 300 characters, no SQL, no stack) and a dead
letter; the rest is booked; the ledger still verifies."""

from __future__ import annotations

import json
import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.money import format_amount, parse_amount
from services.contracts import parse_dead_letter
from services.signing import sign_event

SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b|\[SQL|Traceback|File \"", re.I)


def corpus(pipeline, rng: random.Random) -> tuple[list[bytes], dict[int, str], list[dict]]:
    """(lines, line number → what its rejection must say, the valid events)."""
    sign = lambda **changes: pipeline.event(rng, **changes)  # noqa: E731 - signed by the platform
    first = sign()
    no_style = sign(styles=[], prompt="a quiet harbour")
    cases: list[tuple[object, str | None]] = [
        (first, None),
        (sign_event({**first, "event_id": first["event_id"].upper(), "signature": None}, pipeline.platform_key), "event_id"),
        (sign(reward={"amount": "1\u0660", "currency": "USD"}), "not a plain decimal"),
        (sign(reward={"amount": "1.00\n", "currency": "USD"}), "not a plain decimal"),
        (sign(reward={"amount": "999999999999.999999", "currency": "USD"}), "largest allowed"),
        (sign(occurred_at="9999-12-31T23:59:59Z"), "ahead of the ledger's clock"),
        (sign(occurred_at="0001-01-01T00:00:00+01:00"), "out of range"),
        (sign(occurred_at="1970-01-01T00:00:00Z"), "before the earliest time"),
        (sign(content="an image\u0000of a man"), "NUL"),
        (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
        (b'{"[/]": 1, "[bold]x": "[/]"}', "schema"),
        (sign(**{"[/]": "markup"}), "unexpected field"),
        (b"\xff\xfe not utf-8", "not UTF-8"),
        (b"[1, 2]", "must be a JSON object"),
        (no_style, None),
        (sign(), None),
    ]
    lines = [case if isinstance(case, bytes) else json.dumps(case).encode() for case, _ in cases]
    expected = {number: reason for number, (_, reason) in enumerate(cases, start=1) if reason}
    valid = [case for case, reason in cases if reason is None]
    return lines, expected, valid


def check_reasons(reasons: dict[int, str], expected: dict[int, str]) -> None:
    assert set(reasons) == set(expected)
    for number, fragment in expected.items():
        reason = reasons[number]
        assert fragment in reason, (number, reason)
        assert len(reason) <= 300 and "\n" not in reason and not SQL.search(reason), (number, reason)


def test_ingest_refuses_the_corpus_line_by_line_and_books_the_rest(any_pipeline, tmp_path):
    pipeline = any_pipeline
    lines, expected, valid = corpus(pipeline, random.Random(21))
    (tmp_path / "[").mkdir()
    path = tmp_path / "[" / "]hostile.jsonl"  # its path holds "[/]": markup is echoed as text, never interpreted
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    result = pipeline.cli("ingest", str(path), "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    statuses = {line["line"]: line["status"] for line in report["lines"]}
    assert [n for n, s in statuses.items() if s == "recorded"] == [n for n in range(1, len(lines) + 1) if n not in expected]
    check_reasons({line["line"]: line["reason"] for line in report["lines"] if line["status"] == "rejected"}, expected)
    letters = [parse_dead_letter(raw) for raw in (tmp_path / "[" / "]hostile.dlq.jsonl").read_text().splitlines()]
    assert sorted(letter.source.offset for letter in letters) == sorted(expected)
    assert {letter.source.offset: letter.original for letter in letters}[10] == lines[9]

    human = pipeline.cli("ingest", str(path))  # the same lines again, for a person
    assert human.exit_code == 1 and "[/]hostile.dlq.jsonl" in human.output and "Traceback" not in human.output
    assert f"{len(valid)} duplicate" in human.output

    no_style = valid[1]
    paid = json.loads(pipeline.cli("history", "model:tiny-sd", "--json").stdout)["transfers"]
    model_take = [t for t in paid if t["event_id"] == no_style["event_id"]]
    reward = format_amount(parse_amount(no_style["reward"]["amount"], "USD"), "USD")
    assert [t["amount"] for t in model_take] == [reward]  # no artist named: the model earns it all
    assert pipeline.cli("ledger", "verify").exit_code == 0


@pytest.mark.kafka
@pytest.mark.slow
def test_the_broker_path_dead_letters_the_same_corpus(pipeline, kafka_bootstrap, prefix):
    from services.kafka import dlq_topic
    from services.runners import KafkaSettings, emit
    from tests.pipeline.support import dlq_records

    lines, expected, valid = corpus(pipeline, random.Random(22))
    emit(KafkaSettings(kafka_bootstrap, partitions=2, prefix=prefix), lines, [str(n).encode() for n in range(len(lines))])
    pipeline.start("attribution", kafka_bootstrap, prefix)
    pipeline.start("ledger", kafka_bootstrap, prefix)
    assert pipeline.wait_landed([event["event_id"] for event in valid]) == len(valid)
    letters = dlq_records(kafka_bootstrap, dlq_topic(prefix + "generation.events"), len(expected))
    by_line = {lines.index(parse_dead_letter(json.dumps(letter)).original) + 1: letter["reason"] for letter in letters}
    check_reasons(by_line, expected)
    assert pipeline.cli("ledger", "verify").exit_code == 0


HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["[/]", "[bold]x[/bold]", "\u0661\u0662", "１２", "1e308", "NaN", "-0", "\u0000", "\ud7ff",
                     "99999999999999999999999", "٠.٠٠٤", "0.004 ", "\u202e", "C28753F8-0000-4000-8000-000000000000"]),
)
HOSTILE_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
              st.floats(allow_nan=False, allow_infinity=False), HOSTILE_TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(HOSTILE_TEXT, inner, max_size=3)),
    max_leaves=8,
)
FIELDS = ["event_id", "platform_id", "occurred_at", "model", "content", "styles", "prompt", "seed", "params", "reward",
          "reward.amount", "reward.currency", "model.id", "styles.0.phrase", "styles.0.artist_id", "image"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_generated_lines_are_admitted_or_refused_with_one_sentence(sqlite_pipeline, data):
    """Hostile values in any field, re-signed by the platform so that they reach every check."""
    from services.admission import Admitted, Gate
    from services.routes import parse_routes
    from services.stream import Rejected
    from services.lookups import RegistryLookups

    pipeline = sqlite_pipeline
    lookups = RegistryLookups(pipeline.engine)
    gate = Gate(lookups.platform_keys, lookups.known_artists, parse_routes(None))
    event = pipeline.event(random.Random(data.draw(st.integers(0, 1000))))
    event.pop("signature")
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(FIELDS)).split(".")
        target = event
        for part in path[:-1]:
            target = target[int(part)] if isinstance(target, list) and part.isdigit() and int(part) < len(target) else (
                target.get(part) if isinstance(target, dict) else None)
            if not isinstance(target, (dict, list)):
                break
        if isinstance(target, dict):
            target[path[-1]] = data.draw(HOSTILE_VALUE)
    try:
        raw = json.dumps(sign_event(event, pipeline.platform_key)).encode()
    except (ValueError, TypeError):
        raw = json.dumps(event, default=str).encode()
    try:
        admitted = gate.admit(raw)
    except Rejected as exc:
        reason = str(exc)
        assert reason and len(reason) <= 300 and "\n" not in reason and not SQL.search(reason)
    else:
        assert isinstance(admitted, Admitted)
        assert admitted.event.event_id == admitted.event.event_id.lower()
