"""Money as integers: micro-units (10^-6 of a currency unit), never floats.

- `parse_amount("0.004", "USD") == 4000`: canonical decimal strings in (ASCII digits
  only, no sign, no spaces, no exponent, at most 6 decimals, at most `maximum`), integers
  out. Anything else, or an unknown currency, raises `MoneyError`.
- `parse_money("1.5", "JPY")` raises: an amount to be paid (a minimum payout) keeps the
  currency's ISO 4217 minor unit (`CURRENCIES`: JPY 0, USD 2, BHD 3).
- `parse_reward("0.004", "USD") == 4000` but `parse_reward("1.5", "JPY")` raises: a
  per-image reward is an accrual, stated to the micro-unit like a usage price; a
  zero-decimal currency has no fraction of any kind, so its rewards are whole units.
- `format_amount(4000, "USD") == "0.004"`: integers in, decimal strings out, shown with
  at least the currency's minor-unit digits (`"1.00"` USD, `"1"` JPY).
- `split_largest_remainder(total, weights)`: exact parts that add up to `total`.
- `checked_total(amounts)`: a sum that must still fit the ledger's 64-bit columns.

Limits: one event's reward is at most `MAX_EVENT_REWARD` (1,000,000 currency units);
every stored amount and every sum the ledger forms (balances, payouts, statement totals)
must fit a signed 64-bit integer of micro-units (`MAX_MICROS`, about 9.2 trillion units);
a sum past it is refused with a sentence, never wrapped or stored.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping
from fractions import Fraction
from typing import TypeVar

from ledger.errors import MoneyError

MICROS_PER_UNIT = 1_000_000
MICRO_DIGITS = 6

#: ISO 4217 code -> number of minor-unit digits.
CURRENCIES: dict[str, int] = {
    "AED": 2, "ARS": 2, "AUD": 2, "BGN": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2,
    "CLP": 0, "CNY": 2, "COP": 2, "CZK": 2, "DKK": 2, "EGP": 2, "EUR": 2, "GBP": 2,
    "HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "ISK": 0, "JOD": 3, "JPY": 0,
    "KES": 2, "KRW": 0, "KWD": 3, "MXN": 2, "MYR": 2, "NGN": 2, "NOK": 2, "NZD": 2,
    "OMR": 3, "PHP": 2, "PKR": 2, "PLN": 2, "RON": 2, "SAR": 2, "SEK": 2, "SGD": 2,
    "THB": 2, "TND": 3, "TRY": 2, "TWD": 2, "UAH": 2, "USD": 2, "VND": 0, "ZAR": 2,
}

MAX_MICROS = 2**63 - 1  # the ledger's amount columns are signed 64-bit integers
MAX_EVENT_REWARD = 1_000_000 * MICROS_PER_UNIT  # one event's reward, in micro-units
_AMOUNT_TEXT_MAX = 40
# ASCII digits only (Python's \d also takes other scripts' digits) and a full match
# (`$` would let a trailing newline through).
_DECIMAL = re.compile(r"(0|[1-9][0-9]*)(?:\.([0-9]{1,%d}))?" % MICRO_DIGITS)

K = TypeVar("K", bound=Hashable)


def check_currency(currency: str) -> str:
    """Return `currency` if it is a known ISO 4217 code (upper case), else raise."""
    if not isinstance(currency, str) or currency not in CURRENCIES:
        raise MoneyError(f"Unknown currency {currency!r}: expected an ISO 4217 code such as 'USD'.")
    return currency


def minor_units(currency: str) -> int:
    """Digits after the decimal point of the currency's smallest coin (USD 2, JPY 0)."""
    return CURRENCIES[check_currency(currency)]


def parse_amount(text: str, currency: str, maximum: int = MAX_MICROS) -> int:
    """Parse a canonical non-negative decimal string into micro-units of `currency`."""
    check_currency(currency)
    if not isinstance(text, str):
        raise MoneyError(f"Amount {text!r} must be a decimal string such as '0.004', not {type(text).__name__}.")
    shown = text if len(text) <= _AMOUNT_TEXT_MAX else text[:_AMOUNT_TEXT_MAX] + "…"
    if text.startswith("-"):
        raise MoneyError(f"Amount {shown!r} is negative; amounts are never below zero.")
    match = _DECIMAL.fullmatch(text) if len(text) <= _AMOUNT_TEXT_MAX else None
    if match is None:
        if re.fullmatch(r"[0-9]+\.[0-9]{%d,}" % (MICRO_DIGITS + 1), text):
            raise MoneyError(f"Amount {shown!r} has more than {MICRO_DIGITS} decimal places (finer than a micro-unit).")
        raise MoneyError(
            f"Amount {shown!r} is not a plain decimal number such as '12.50' "
            "(ASCII digits, an optional point and at most 6 decimals, nothing else)."
        )
    units, decimals = match.group(1), match.group(2) or ""
    micros = int(units) * MICROS_PER_UNIT + int(decimals.ljust(MICRO_DIGITS, "0") or 0)
    if micros > maximum:
        raise MoneyError(f"Amount {shown!r} is more than the largest allowed here, {format_amount(maximum, currency)}.")
    return micros


def parse_money(text: str, currency: str, maximum: int = MAX_MICROS) -> int:
    """`parse_amount` for an amount a person or a platform states — a reward, a minimum
    payout: it also keeps the currency's ISO 4217 minor unit (no cents of a yen, no
    tenths of a cent). Balances still accrue in micro-units (a split's parts); payouts
    round down to the minor unit and carry the rest (`ledger.payouts.arithmetic`)."""
    micros = parse_amount(text, currency, maximum)
    digits = minor_units(currency)
    decimals = len(text.partition(".")[2])
    if decimals > digits:
        shown = text if len(text) <= _AMOUNT_TEXT_MAX else text[:_AMOUNT_TEXT_MAX] + "…"
        allowed = "whole units, no decimals" if digits == 0 else f"at most {digits} decimal{'s' if digits > 1 else ''}"
        raise MoneyError(f"Amount {shown!r} is finer than {currency}'s smallest unit: "
                         f"{currency} amounts have {allowed} (ISO 4217).")
    return micros


def parse_reward(text: str, currency: str, maximum: int = MAX_MICROS) -> int:
    """An event's reward: micro-unit precision where the currency has a minor unit (a
    fifth of a cent per image accrues, and payouts round down to cents and carry the
    rest); whole units where it has none (JPY, KRW), as `parse_money` says."""
    if minor_units(currency) == 0:
        return parse_money(text, currency, maximum)
    return parse_amount(text, currency, maximum)


def checked_total(amounts: Iterable[int], what: str = "A total") -> int:
    """The sum of `amounts`, refused with a sentence if it leaves the 64-bit range the ledger stores."""
    total = sum(amounts)
    if not -MAX_MICROS <= total <= MAX_MICROS:
        raise MoneyError(f"{what} would exceed the largest amount the ledger can hold "
                         f"({MAX_MICROS // MICROS_PER_UNIT:,} units); nothing was changed.")
    return total


def format_amount(micros: int, currency: str) -> str:
    """Show micro-units as a decimal string with at least the currency's minor digits."""
    digits = minor_units(currency)
    if isinstance(micros, bool) or not isinstance(micros, int):
        raise MoneyError(f"Amount {micros!r} must be an integer number of micro-units.")
    sign = "-" if micros < 0 else ""
    units, fraction = divmod(abs(micros), MICROS_PER_UNIT)
    decimals = f"{fraction:06d}".rstrip("0")
    if len(decimals) < digits:
        decimals = decimals.ljust(digits, "0")
    return f"{sign}{units}.{decimals}" if decimals else f"{sign}{units}"


def split_largest_remainder(total: int, weights: Mapping[K, int | Fraction]) -> dict[K, int]:
    """Split `total` in proportion to `weights`; the parts add up exactly to `total`.

    Each key first gets the floor of its exact quota `total * w / sum(w)`; the units
    left over go one each to the largest fractional remainders. Ties go to the key that
    comes first in the mapping's iteration order, so the result is reproducible.
    Weights are ints or Fractions (convert a float share with `Fraction(share)`).
    """
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise MoneyError(f"Total {total!r} must be a non-negative integer number of micro-units.")
    exact: dict[K, Fraction] = {}
    for key, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, int | Fraction):
            raise MoneyError(f"Weight {weight!r} for {key!r} must be an int or a Fraction, never a float.")
        if weight < 0:
            raise MoneyError(f"Weight {weight!r} for {key!r} is negative.")
        exact[key] = Fraction(weight)
    weight_sum = sum(exact.values(), Fraction(0))
    if weight_sum == 0:
        raise MoneyError("Weights must not all be zero (nothing to split by).")
    parts: dict[K, int] = {}
    remainders: list[tuple[Fraction, int, K]] = []
    for position, (key, weight) in enumerate(exact.items()):
        quota = total * weight / weight_sum
        parts[key] = quota.numerator // quota.denominator
        remainders.append((quota - parts[key], position, key))
    leftover = total - sum(parts.values())
    remainders.sort(key=lambda item: (-item[0], item[1]))
    for _, _, key in remainders[:leftover]:
        parts[key] += 1
    return parts
