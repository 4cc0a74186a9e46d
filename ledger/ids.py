"""The one spelling of every identifier the ledger stores (full-match patterns, ASCII only).

- `SLUG`: the id of an artist, platform or model, and so of its account (`artist:<slug>`):
  1–64 characters of lower-case letters, digits, `.`, `_`, `-`, starting with a letter or
  digit. The same pattern guards the wire contracts, the registries and account names.
- `EVENT_ID`: a generation event's id, a lower-case UUID. Anything else is refused, never
  normalised: one event has one spelling, so it cannot be paid twice under two.
"""

from __future__ import annotations

import re
import uuid

SLUG = r"[a-z0-9][a-z0-9._-]{0,63}"
EVENT_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

_SLUG = re.compile(SLUG)
_EVENT_ID = re.compile(EVENT_ID)


def is_slug(value: object) -> bool:
    return isinstance(value, str) and _SLUG.fullmatch(value) is not None


def is_event_id(value: object) -> bool:
    return isinstance(value, str) and _EVENT_ID.fullmatch(value) is not None


#: uuid5 namespace of attribution ids (fixed forever).
ATTRIBUTION_NAMESPACE = uuid.UUID("5b0e8c5e-3f57-4d0c-9a43-2a8f6e1c7d20")


def attribution_id(event_id: str, body_sha256: str) -> str:
    """The id of an event's attribution: uuid5 of its id and body hash, so re-attributing a
    redelivered event yields the same id."""
    return str(uuid.uuid5(ATTRIBUTION_NAMESPACE, f"{event_id}|{body_sha256}"))
