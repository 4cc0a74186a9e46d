"""Strict JSON for hostile input: one UTF-8 object, no duplicate keys, no NaN/Infinity,
bounded in size and depth. Every problem is a `StrictJsonError` with one sentence.

Used for everything fairsplit reads that someone else wrote: events and results from
Kafka or files, proof documents, statement manifests.
"""

from __future__ import annotations

import json
from typing import Any


class StrictJsonError(ValueError):
    """Bytes that are not one acceptable JSON object: "<what> <reason>."."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"{what} {reason}.")
        self.reason = reason


def _reject_constant(name: str) -> Any:
    raise StrictJsonError("", f"{name} is not valid JSON")  # `parse_object` names what it reads


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise StrictJsonError("", "an object repeats a key")
    return result


def parse_object(data: bytes | bytearray | memoryview | str, what: str, max_bytes: int) -> dict[str, Any]:
    """Decode `data` as one JSON object (see the module docstring)."""
    if len(data) > max_bytes:
        raise StrictJsonError(what, f"is larger than {_size(max_bytes)}")
    if not isinstance(data, str):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise StrictJsonError(what, "is not UTF-8 text") from None
    try:
        value = json.loads(data, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise StrictJsonError(what, "is nested too deeply") from None
    except StrictJsonError as exc:
        raise StrictJsonError(what, f"is not valid JSON: {exc.reason}") from None
    except ValueError as exc:  # JSONDecodeError, and integers with too many digits
        raise StrictJsonError(what, f"is not valid JSON ({str(exc).split(':')[0][:80]})") from None
    if not isinstance(value, dict):
        raise StrictJsonError(what, f"must be a JSON object, not {type(value).__name__}")
    return value


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit} bytes"
