"""Which model profile serves which model id: the worker's routing map.

One definition for the gate that admits events (`services.admission`), the settings that
print the default (`commands.settings`) and the CLI's `attribute`; light on purpose (no
broker, no contracts), so reading the configuration imports nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_ROUTES: Mapping[str, str] = {"sd-1.5": "sd15", "tiny-sd": "tiny", "world-sd": "world"}


def format_routes(routes: Mapping[str, str]) -> str:
    """A routing map as `FAIRSPLIT_MODEL_ROUTES` spells it (`parse_routes` reads it back)."""
    return ",".join(f"{model_id}={profile}" for model_id, profile in routes.items())


def parse_routes(text: str | None) -> dict[str, str]:
    """`"sd-1.5=sd15,tiny-sd=tiny"` → a routing map; empty or None → the defaults."""
    if not text:
        return dict(DEFAULT_ROUTES)
    routes: dict[str, str] = {}
    for part in text.split(","):
        model_id, sep, profile = part.strip().partition("=")
        if not sep or not model_id or not profile:
            raise ValueError(f"model route {part.strip()!r} must look like MODEL_ID=PROFILE.")
        routes[model_id] = profile
    return routes
