"""Typer options for settings: each overrides one `FAIRSPLIT_*` variable and says which.

Options default to None ("not given"), so the value comes from `commands.settings` unless
the option is on the command line; `settings_of(ctx).merge(name=value, …)` applies them.
"""

from __future__ import annotations

from typing import Any

import typer

from commands.settings import BY_FIELD


def setting(field: str, **extra: Any) -> Any:
    """The CLI option of setting `field` (its help names the environment variable)."""
    variable = BY_FIELD[field]
    default = f" (default {variable.default})" if variable.default else ""
    return typer.Option(None, variable.option, help=f"{variable.help[0].upper()}{variable.help[1:]}{default} "
                                                    f"(env {variable.name})", show_default=False, **extra)


AS_JSON = typer.Option(False, "--json", help="Print JSON (every figure the table shows).")
WITNESS_KEY = typer.Option(None, "--witness-key", help="A witness's public key file (vkey lines); repeatable. "
                           "The checkpoint must then carry their cosignatures.")
WITNESS_QUORUM = typer.Option(None, "--witness-quorum", min=1, help="How many of those witnesses must have cosigned (default: all).")
