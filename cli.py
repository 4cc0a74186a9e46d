"""fairsplit command line: the Typer entry point. It reads the configuration once
(`commands.settings`) and assembles the command modules of `commands/`, one per noun.

A command's module is imported when that command runs (or `--help` lists it), so each
command starts with what it needs: `verify-proof` and `witness serve` load no database
layer, and no command pays for another's imports.

`main()` is the console script: an unexpected error becomes one sentence (the details go
to a file under the system's temporary folder), never a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import traceback
from datetime import UTC, datetime

import typer
from typer._click import exceptions as click_errors  # typer vendors Click; its usage errors live here
from typer.core import TyperGroup

from commands.common import fail
from commands.options import setting
from commands.settings import CONFIG_NAME, SettingsError, config_file, read_config_file, read_settings

#: The root's own commands, in the order `--help` lists them: name → its module in commands/.
COMMANDS = {"init": "setup", "balance": "accounts", "history": "accounts", "attribute": "attribution",
            "explain": "attribution", "sign": "pipeline", "emit": "pipeline", "ingest": "pipeline", "up": "pipeline",
            "dead-letters": "dead_letters", "status": "status", "verify-proof": "proofs"}
#: The nouns, each a group of commands: name → its module (whose `app` is the group).
GROUPS = {"ledger": "ledger", "events": "events", "artists": "artists", "platforms": "platforms", "keys": "keys",
          "serve": "serve", "payouts": "payouts", "statements": "statements", "witness": "witness", "world": "world",
          "portal": "portal"}


def load_command(name: str):
    """The click command `name` of the root, built from its module's Typer app."""
    if name in GROUPS:
        group = typer.main.get_group(importlib.import_module(f"commands.{GROUPS[name]}").app)
        group.name = name
        return group
    return typer.main.get_group(importlib.import_module(f"commands.{COMMANDS[name]}").app).commands[name]


class _Commands(TyperGroup):
    """The root group: lists every command, imports a command's module on first use."""

    def list_commands(self, ctx) -> list[str]:
        return [*COMMANDS, *GROUPS]

    def get_command(self, ctx, cmd_name: str):
        if cmd_name not in self.commands and (cmd_name in COMMANDS or cmd_name in GROUPS):
            self.commands[cmd_name] = load_command(cmd_name)
        return self.commands.get(cmd_name)


def subcommands(command) -> dict:
    """Every subcommand of a click group, by name, loaded (the tree walks of the docs' tests);
    {} for a command that is not a group."""
    if not hasattr(command, "list_commands"):
        return {}
    ctx = typer.Context(command)
    return {name: command.get_command(ctx, name) for name in command.list_commands(ctx)}


app = typer.Typer(
    cls=_Commands,
    name="fairsplit",
    help="Fair reward splits between generative models and artists, paid through a verifiable ledger.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    database_url: str | None = setting("database_url"),
    key_dir: str | None = setting("key_dir"),
    device: str | None = setting("device"),
    model_cache: str | None = setting("model_cache"),
    generator_model: str | None = setting("generator_model"),
    generator_revision: str | None = setting("generator_revision"),
    clip_model: str | None = setting("clip_model"),
    clip_revision: str | None = setting("clip_revision"),
    config: str | None = setting("config"),
) -> None:
    """Configuration: these options, then environment variables FAIRSPLIT_*, then fairsplit.toml (or --config)."""
    try:
        path = config_file(config if config is not None else os.environ.get("FAIRSPLIT_CONFIG"))
        from_file = read_config_file(path) if path is not None else {}
        environ = {**os.environ, "FAIRSPLIT_CONFIG": str(path)} if path is not None else os.environ
        ctx.obj = read_settings(environ, from_file, str(path or CONFIG_NAME)).merge(
            database_url=database_url, key_dir=key_dir, device=device, model_cache=model_cache,
            generator_model=generator_model, generator_revision=generator_revision,
            clip_model=clip_model, clip_revision=clip_revision)
    except SettingsError as exc:
        fail(str(exc))


def main() -> None:
    """The console script: run the app; an unexpected error is one sentence and exit 3."""
    try:
        code = app(standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:
        exc.show()  # a group named alone: its help, as before
        sys.exit(exc.exit_code)
    except click_errors.UsageError as exc:  # one sentence, not a box (issue 23 defect 12)
        where = f" (see `fairsplit {' '.join(exc.ctx.command_path.split()[1:])} --help`)" if exc.ctx else ""
        message = " ".join(exc.format_message().split()).rstrip(".")
        sys.stderr.write(f"error: {message}{where.replace('fairsplit  --help', 'fairsplit --help')}.\n")
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):  # Ctrl-C where the command has no resume message of its own
        sys.stderr.write("interrupted: what was already written stays (each write is one transaction); "
                         "run the command again to continue (nothing is booked twice).\n")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback reaches a user
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        fd, path = tempfile.mkstemp(prefix=f"fairsplit-error-{stamp}-", suffix=".log")
        with os.fdopen(fd, "w") as handle:
            traceback.print_exc(file=handle)
        sys.stderr.write(f"error: unexpected {type(exc).__name__} (a bug, not your input); details in {path}.\n")
        sys.exit(3)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
