"""The one configuration reader: every variable typed and documented once, bad values one
sentence naming the variable, options overriding single fields, children configured alike."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from commands.settings import VARIABLES, SettingsError, read_settings

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_and_round_trip_through_the_environment():
    settings = read_settings({})
    assert settings.database_url == "sqlite:///./fairsplit.db" and settings.tau is None and settings.partitions == 6
    again = read_settings(settings.to_env())
    assert again == settings


@pytest.mark.parametrize(("name", "value", "fragment"), [
    ("FAIRSPLIT_KAFKA_PARTITIONS", "0", "from 1 to 1024"),
    ("FAIRSPLIT_KAFKA_PARTITIONS", "\u0661", "whole number"),
    ("FAIRSPLIT_TAU", "nan", "number from -1 to 1"),
    ("FAIRSPLIT_MODE", "magic", "one of generative, text"),
    ("FAIRSPLIT_EVENTS_NOT_BEFORE", "yesterday", "ISO 8601 date"),
    ("FAIRSPLIT_WITNESSES", "", None),
    ("FAIRSPLIT_IP_ADAPTER_WEIGHT", "../keys/ledger.bin", "without a folder"),
])
def test_a_bad_value_is_one_sentence_naming_the_variable(name, value, fragment):
    if fragment is None:
        assert read_settings({name: value}).witnesses == ""
        return
    with pytest.raises(SettingsError, match=f"^{name} .*{re.escape(fragment)}"):
        read_settings({name: value})
    result = CliRunner().invoke(app, ["ledger", "verify"], env={name: value})
    assert result.exit_code == 2 and name in result.output and "Traceback" not in result.output


def test_the_image_adapters_weights_file_reaches_the_model_sources():
    """sd15 can mix works through a patch-format adapter (IP-Adapter Plus) by naming its file."""
    assert read_settings({}).model_sources.ip_adapter_weight == "ip-adapter_sd15.safetensors"
    plus = read_settings({"FAIRSPLIT_IP_ADAPTER_WEIGHT": "ip-adapter-plus_sd15.safetensors"})
    assert plus.model_sources.ip_adapter_weight == "ip-adapter-plus_sd15.safetensors"


def test_text_with_nul_is_refused():
    with pytest.raises(SettingsError, match="FAIRSPLIT_DATABASE_URL must be text"):
        read_settings({"FAIRSPLIT_DATABASE_URL": "x\u0000"})


def test_an_option_overrides_its_variable_and_is_checked_the_same_way():
    settings = read_settings({"FAIRSPLIT_TAU": "0.1"})
    assert settings.merge(tau=0.3).tau == 0.3 and settings.merge(tau=None).tau == 0.1
    with pytest.raises(SettingsError, match="--tau"):
        settings.merge(tau=7.0)


def test_the_readme_lists_every_variable_and_the_option_it_has():
    readme = (ROOT / "README.md").read_text()
    for variable in VARIABLES:
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{variable.name}`")), None)
        assert row is not None, f"{variable.name} is not in the README's table"
        assert (f"`{variable.option}`" in row) if variable.option else "none" in row, row


def test_nothing_under_fairsplit_or_ledger_reads_the_environment():
    for package in ("fairsplit", "ledger"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            assert "os.environ" not in text and "getenv" not in text, path
