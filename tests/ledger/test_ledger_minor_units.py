"""Currencies keep their ISO 4217 minor units (issue 19 item 13, JPY): an amount to be
paid — a minimum payout — is never finer than the currency's smallest unit; an event's
reward is an accrual, to the micro-unit (0.004 USD per image, as the contract's example
says), except in a currency with no minor unit at all, where it is whole units."""

from __future__ import annotations

import copy

import pytest
from typer.testing import CliRunner

from cli import app
from ledger.errors import MoneyError
from ledger.money import parse_amount, parse_money
from services.contracts import ContractError, parse_event
from tests.services.support import EXAMPLE_EVENT


@pytest.mark.parametrize("text, currency, micros", [("2", "JPY", 2_000_000), ("12.50", "EUR", 12_500_000),
                                                     ("0.01", "USD", 10_000), ("1.234", "BHD", 1_234_000),
                                                     ("7.", "JPY", None)])
def test_amounts_within_the_minor_unit_parse(text, currency, micros):
    if micros is None:
        with pytest.raises(MoneyError, match="not a plain decimal"):
            parse_money(text, currency)
    else:
        assert parse_money(text, currency) == parse_amount(text, currency) == micros


@pytest.mark.parametrize("text, currency, allowed", [
    ("1.5", "JPY", "whole units, no decimals"), ("0.004", "USD", "at most 2 decimals"),
    ("1.0", "KRW", "whole units, no decimals"), ("0.0001", "BHD", "at most 3 decimals"),
])
def test_an_amount_finer_than_the_currency_is_one_sentence(text, currency, allowed):
    with pytest.raises(MoneyError) as refused:
        parse_money(text, currency)
    assert str(refused.value) == (f"Amount {text!r} is finer than {currency}'s smallest unit: "
                                  f"{currency} amounts have {allowed} (ISO 4217).")


def test_an_event_rewarding_a_fraction_of_a_yen_is_refused_at_admission():
    event = copy.deepcopy(EXAMPLE_EVENT)
    event["reward"] = {"amount": "1.5", "currency": "JPY"}
    with pytest.raises(ContractError, match=r"reward: Amount '1.5' is finer than JPY's smallest unit"):
        parse_event(event)
    event["reward"] = {"amount": "2", "currency": "JPY"}
    assert parse_event(event).reward.micros == 2_000_000


def test_a_sub_cent_reward_accrues_in_micro_units():
    event = copy.deepcopy(EXAMPLE_EVENT)
    event["reward"] = {"amount": "0.004", "currency": "USD"}
    assert parse_event(event).reward.micros == 4_000
    event["reward"] = {"amount": "0.0000001", "currency": "USD"}  # finer than the ledger's micro-unit
    with pytest.raises(ContractError, match="reward"):
        parse_event(event)


def test_the_cli_refuses_a_minimum_payout_finer_than_the_currency(sqlite_url, tmp_path):
    base = ["--database-url", sqlite_url, "--key-dir", str(tmp_path / "keys")]
    assert CliRunner().invoke(app, [*base, "init"]).exit_code == 0
    result = CliRunner().invoke(app, [*base, "payouts", "close", "2026-11", "--currency", "JPY", "--min-payout", "1.5"])
    assert result.exit_code == 2
    assert result.output.strip() == ("error: Amount '1.5' is finer than JPY's smallest unit: JPY amounts have whole "
                                     "units, no decimals (ISO 4217).")
