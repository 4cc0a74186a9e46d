"""Helpers of the services tests."""

from __future__ import annotations

#: The docs/pipeline.md example event (unsigned).
EXAMPLE_EVENT = {
    "schema": "fairsplit.generation.v1", "event_id": "0b6f7f2e-4d3a-4a55-9d1e-2a8e3f6b9c10",
    "platform_id": "acme", "occurred_at": "2026-11-24T12:00:00Z",
    "model": {"id": "sd-1.5", "revision": "..."},
    "content": "an image of a man", "styles": [{"artist_id": "van-gogh", "phrase": "by Van Gogh"}],
    "prompt": "an image of a man, by Van Gogh", "seed": 1234,
    "params": {"steps": 25, "guidance": 7.5, "width": 512, "height": 512},
    "reward": {"amount": "0.01", "currency": "USD"},
}
