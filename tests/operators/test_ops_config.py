"""A configuration file: `fairsplit.toml` in the working folder (or `--config FILE`,
`FAIRSPLIT_CONFIG`), keys named as the variables without the prefix, precedence
option > environment > file > default, checked against `VARIABLES`."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from commands.settings import VARIABLES, SettingsError, config_key, read_config_file, read_settings

ROOT = Path(__file__).resolve().parents[2]


def _toml_value(variable) -> str:
    value = read_settings({})
    current = value.to_env()[variable.name]
    return '"' + current.replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_every_variable_has_a_key_and_a_file_of_defaults_changes_nothing(tmp_path):
    keys = {config_key(v) for v in VARIABLES}
    assert len(keys) == len(VARIABLES) and "database_url" in keys and "key_dir" in keys and "profile" in keys
    path = tmp_path / "all.toml"
    path.write_text("".join(f"{config_key(v)} = {_toml_value(v)}\n" for v in VARIABLES if v.field != "config"))
    from_file = read_settings({}, read_config_file(path))
    assert replace(from_file, explicit=frozenset()) == replace(read_settings({}), explicit=frozenset())


def test_option_over_environment_over_file_over_default(tmp_path):
    path = tmp_path / "f.toml"
    path.write_text('database_url = "sqlite:///file.db"\nprofile = "tiny"\nkafka_partitions = 3\ncompile = true\n')
    values = read_config_file(path)
    settings = read_settings({"FAIRSPLIT_PROFILE": "world"}, values)
    assert (settings.database_url, settings.profile, settings.partitions, settings.compile) == \
        ("sqlite:///file.db", "world", 3, True)
    assert settings.merge(database_url="sqlite:///option.db").database_url == "sqlite:///option.db"
    assert read_settings({}).profile == "sd15"


def test_the_cli_reads_the_working_folders_file_and_the_named_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("FAIRSPLIT_DATABASE_URL", "FAIRSPLIT_CONFIG", "FAIRSPLIT_KEY_DIR"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "fairsplit.toml").write_text('database_url = "sqlite:///from-file.db"\nkey_dir = "k"\n')
    assert CliRunner().invoke(app, ["init"]).exit_code == 0
    assert (tmp_path / "from-file.db").exists() and (tmp_path / "k").is_dir()
    assert CliRunner().invoke(app, ["init"], env={"FAIRSPLIT_DATABASE_URL": "sqlite:///from-env.db"}).exit_code == 0
    assert (tmp_path / "from-env.db").exists()
    assert CliRunner().invoke(app, ["--database-url", "sqlite:///from-option.db", "init"],
                              env={"FAIRSPLIT_DATABASE_URL": "sqlite:///from-env.db"}).exit_code == 0
    assert (tmp_path / "from-option.db").exists()
    other = tmp_path / "other.toml"
    other.write_text('database_url = "sqlite:///named.db"\nkey_dir = "k"\n')
    assert CliRunner().invoke(app, ["--config", str(other), "init"]).exit_code == 0
    assert CliRunner().invoke(app, ["init"], env={"FAIRSPLIT_CONFIG": str(other)}).exit_code == 0
    assert (tmp_path / "named.db").exists()


@pytest.mark.parametrize(("content", "fragment"), [
    ('databse_url = "x"\n', "'databse_url' is not a setting (did you mean database_url?)"),
    ('database_url = "mysql://x/y"\n', "fairsplit.toml: database_url must be a sqlite:///path.db"),
    ('kafka_partitions = 0\n', "fairsplit.toml: kafka_partitions must be from 1 to 1024"),
    ('kafka_partitions = [1]\n', "kafka_partitions must be text, a number or true/false"),
    ('config = "other.toml"\n', "'config' is not a setting"),
    ("x = [1\n", "is not valid TOML"),
])
def test_a_bad_file_is_one_sentence_naming_the_file_and_key(tmp_path, monkeypatch, content, fragment):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FAIRSPLIT_CONFIG", raising=False)
    (tmp_path / "fairsplit.toml").write_text(content)
    result = CliRunner().invoke(app, ["init"])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and fragment in lines[0], result.output
    assert not (tmp_path / "fairsplit.db").exists()


def test_a_named_file_that_is_missing_is_refused(tmp_path):
    with pytest.raises(SettingsError):
        from commands.settings import config_file
        config_file(str(tmp_path / "none.toml"))
    result = CliRunner().invoke(app, ["--config", str(tmp_path / "none.toml"), "init"])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_the_readmes_example_uses_only_real_keys():
    readme = (ROOT / "README.md").read_text()
    example = readme.split("# fairsplit.toml\n", 1)[1].split("```", 1)[0]
    keys = re.findall(r"^([a-z_]+) =", example, re.MULTILINE)
    assert keys and set(keys) <= {config_key(v) for v in VARIABLES}
