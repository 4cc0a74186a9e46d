"""The field types every wire contract shares, and their base model (`Contract`).

Times are RFC 3339 strings with a timezone (finer than microseconds is kept to the
microsecond); text never holds NUL; numbers are finite; ids follow `ledger.ids`. Strict:
a number is never a string, a string never a number.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from ledger.crypto import canonical_text
from ledger.ids import EVENT_ID, SLUG

_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})")


def _rfc3339(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("time must carry a timezone (RFC 3339)")
        return value
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("time must be an RFC 3339 string with a timezone, e.g. 2026-11-24T12:00:00Z")
    if value.endswith(("z", "Z")):
        value = value[:-1] + "+00:00"
    if "." in value:  # Python parses at most microseconds; keep them, drop finer digits
        head, _, rest = value.partition(".")
        digits = re.match(r"\d+", rest).group(0)
        value = f"{head}.{digits[:6].ljust(6, '0')}{rest[len(digits):]}"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"time is not a valid date/time ({exc})") from None
    try:
        moment.astimezone(timezone.utc)  # 0001-01-01T00:00:00+01:00 has no UTC instant
    except (OverflowError, ValueError):
        raise ValueError("time is out of range") from None
    return moment


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("number must be finite")
    return value


Time = Annotated[datetime, BeforeValidator(_rfc3339)]
Text = Annotated[str, Field(strict=True), AfterValidator(_no_nul)]
Slug = Annotated[str, StringConstraints(strict=True, pattern=f"^{SLUG}$")]
ModelId = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")]
Revision = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
Uuid = Annotated[str, StringConstraints(strict=True, pattern=f"^{EVENT_ID}$")]
Base64Sig = Annotated[str, StringConstraints(strict=True, min_length=4, max_length=200, pattern=r"^[A-Za-z0-9+/]+={0,2}$")]
Sha256Hex = Annotated[str, StringConstraints(strict=True, pattern=r"^[0-9a-f]{64}$")]
Finite = Annotated[float, Field(strict=True), AfterValidator(_finite)]
Unit = Annotated[float, Field(strict=True, ge=0.0, le=1.0)]


class Contract(BaseModel):
    """The base of every wire model: extra fields refused, frozen, aliases both ways."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_alias=True,
                              validate_by_name=True, serialize_by_alias=True)

    def to_json_bytes(self) -> bytes:
        """Canonical JSON (aliases, nulls left out): what goes on the wire."""
        return canonical_text(self.model_dump(mode="json", exclude_none=True)).encode("utf-8")
