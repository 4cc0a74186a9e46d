"""Money: decimal strings in, integer micro-units stored, exact largest-remainder splits."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.money import (
    CURRENCIES,
    MoneyError,
    format_amount,
    parse_amount,
    split_largest_remainder,
)


@pytest.mark.parametrize(
    ("text", "currency", "micros"),
    [("0.004", "USD", 4000), ("12.50", "EUR", 12_500_000), ("1", "JPY", 1_000_000),
     ("0.000001", "GBP", 1), ("0", "USD", 0), ("3.1", "CHF", 3_100_000), ("1000000", "USD", 10**12)],
)
def test_parse_amount_gives_exact_micro_units(text, currency, micros):
    assert parse_amount(text, currency) == micros


@pytest.mark.parametrize(
    ("text", "currency", "fragment"),
    [("0.0000001", "USD", "more than 6 decimal places"), ("-1", "USD", "negative"),
     ("NaN", "USD", "plain decimal"), ("Infinity", "USD", "plain decimal"), ("1e3", "USD", "plain decimal"),
     ("abc", "USD", "plain decimal"), ("", "USD", "plain decimal"), ("1", "XYZ", "Unknown currency"),
     ("1", "usd", "Unknown currency"),
     # canonical form only: no spaces, no sign, no other scripts' digits, no trailing newline
     (" 3.1 ", "CHF", "plain decimal"), ("+2", "USD", "plain decimal"), ("1\u0660", "USD", "plain decimal"),
     ("\u0661", "USD", "plain decimal"), ("1.00\n", "USD", "plain decimal"), ("01", "USD", "plain decimal"),
     (".5", "USD", "plain decimal"), ("1.", "USD", "plain decimal"), ("1" * 30, "USD", "largest allowed"),
     ("9" * 60, "USD", "plain decimal")],
)
def test_parse_amount_rejects_with_one_clear_sentence(text, currency, fragment):
    with pytest.raises(MoneyError, match=fragment) as caught:
        parse_amount(text, currency)
    assert str(caught.value).count(". ") == 0 and str(caught.value).endswith(".")


def test_parse_amount_refuses_more_than_its_maximum():
    from ledger.money import MAX_EVENT_REWARD

    assert parse_amount("1000000", "USD", MAX_EVENT_REWARD) == MAX_EVENT_REWARD
    with pytest.raises(MoneyError, match="largest allowed here, 1000000.00"):
        parse_amount("1000000.000001", "USD", MAX_EVENT_REWARD)


def test_checked_total_refuses_a_sum_past_the_64_bit_columns():
    from ledger.money import MAX_MICROS, checked_total

    assert checked_total([MAX_MICROS - 1, 1]) == MAX_MICROS
    with pytest.raises(MoneyError, match="largest amount the ledger can hold"):
        checked_total([MAX_MICROS, 1], "The balance")


def test_parse_amount_rejects_floats():
    with pytest.raises(MoneyError, match="decimal string"):
        parse_amount(0.1, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("micros", "currency", "text"),
    [(4000, "USD", "0.004"), (1_000_000, "USD", "1.00"), (12_500_000, "EUR", "12.50"),
     (1_000_000, "JPY", "1"), (1_500_000, "JPY", "1.5"), (-4000, "USD", "-0.004"), (1, "BHD", "0.000001")],
)
def test_format_amount(micros, currency, text):
    assert format_amount(micros, currency) == text


def test_currency_table_has_the_common_codes():
    for code in "USD EUR GBP JPY CHF CAD AUD CNY INR BRL SEK NOK DKK PLN KRW".split():
        assert code in CURRENCIES
    assert CURRENCIES["JPY"] == 0 and CURRENCIES["KWD"] == 3


@given(st.integers(min_value=0, max_value=10**12), st.sampled_from(sorted(CURRENCIES)))
def test_format_then_parse_round_trips(micros, currency):
    assert parse_amount(format_amount(micros, currency), currency) == micros


weights = st.dictionaries(
    st.text(min_size=1, max_size=5),
    st.one_of(st.integers(min_value=0, max_value=10**6),
              st.fractions(min_value=0, max_value=1, max_denominator=10**9),
              st.floats(min_value=0, max_value=1, allow_nan=False).map(Fraction)),
    min_size=1, max_size=8,
).filter(lambda w: sum(w.values()) > 0)


@given(st.integers(min_value=0, max_value=10**15), weights)
def test_split_is_exact_and_close_to_the_quota(total, w):
    parts = split_largest_remainder(total, w)
    assert sum(parts.values()) == total
    assert list(parts) == list(w)
    weight_sum = sum(Fraction(v) for v in w.values())
    for key, part in parts.items():
        quota = total * Fraction(w[key]) / weight_sum
        assert quota - 1 < part < quota + 1
        assert part >= 0 and isinstance(part, int)
        if w[key] == 0:
            assert part == 0


@given(st.integers(min_value=0, max_value=10**9), weights)
def test_split_is_deterministic(total, w):
    assert split_largest_remainder(total, w) == split_largest_remainder(total, dict(w))


def test_split_ties_go_to_the_first_key():
    assert split_largest_remainder(1, {"b": 1, "a": 1}) == {"b": 1, "a": 0}
    assert split_largest_remainder(4000, {"x": 1, "y": 1, "z": 1}) == {"x": 1334, "y": 1333, "z": 1333}


def test_split_of_float_shares_via_fraction_is_exact():
    shares = {"artist:a": Fraction(0.6), "model:m": Fraction(0.4)}
    assert split_largest_remainder(4000, shares) == {"artist:a": 2400, "model:m": 1600}


@pytest.mark.parametrize(
    ("total", "w", "fragment"),
    [(10, {"a": 0, "b": 0}, "all be zero"), (10, {}, "all be zero"), (10, {"a": -1, "b": 2}, "negative"),
     (10, {"a": 0.5}, "never a float"), (-1, {"a": 1}, "non-negative integer"), (1.0, {"a": 1}, "integer")],
)
def test_split_rejects_bad_input(total, w, fragment):
    with pytest.raises(MoneyError, match=fragment):
        split_largest_remainder(total, w)
