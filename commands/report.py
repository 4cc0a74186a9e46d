"""What a command that changes something prints when it is done: one sentence for people,
or with `--json` one document with every figure of that sentence, for programs."""

from __future__ import annotations

from typing import Any

from commands.common import print_json, say


def done(as_json: bool, data: dict[str, Any], sentence: str) -> None:
    """Print `data` as JSON (`--json`), else `sentence`."""
    if as_json:
        print_json(data)
    else:
        say(sentence)
