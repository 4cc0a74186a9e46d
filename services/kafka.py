"""kafka-python factories with the settings every fairsplit service uses.

- producers: `acks="all"`, the idempotent producer (kafka-python's default since 3.0:
  retries without duplicates within a producer session), bounded delivery timeout;
- consumers: `enable_auto_commit=False` (offsets are committed by the stream's one
  commit step, after the effect), `auto_offset_reset="earliest"` (a new group starts
  from the beginning: nothing is skipped), configurable session/heartbeat/poll timeouts;
- `ensure_topics`: create missing topics and wait until their metadata is visible.

Nothing here knows about events, attribution or ledgers.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

__all__ = ["make_producer", "make_consumer", "make_admin", "ensure_topics", "dlq_topic"]


def dlq_topic(topic: str) -> str:
    """The dead-letter topic of `topic`."""
    return f"{topic}.dlq"


def make_producer(bootstrap: str, *, client_id: str = "fairsplit", **overrides: Any) -> KafkaProducer:
    """A producer that waits for all in-sync replicas and retries idempotently."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "client_id": client_id,
        "acks": "all",
        "linger_ms": 5,
        "delivery_timeout_ms": 30_000,
        "request_timeout_ms": 10_000,
    }
    config.update(overrides)
    return KafkaProducer(**config)


def make_consumer(
    bootstrap: str,
    group_id: str,
    topics: Iterable[str] = (),
    *,
    client_id: str = "fairsplit",
    session_timeout_ms: int = 10_000,
    heartbeat_interval_ms: int = 3_000,
    max_poll_interval_ms: int = 300_000,
    max_poll_records: int = 500,
    **overrides: Any,
) -> KafkaConsumer:
    """A group consumer that never commits by itself; subscribe to `topics` if given."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "group_id": group_id,
        "client_id": client_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": session_timeout_ms,
        "heartbeat_interval_ms": heartbeat_interval_ms,
        "max_poll_interval_ms": max_poll_interval_ms,
        "max_poll_records": max_poll_records,
        "request_timeout_ms": max(30_000, session_timeout_ms + 5_000),
    }
    config.update(overrides)
    consumer = KafkaConsumer(**config)
    topics = list(topics)
    if topics:
        consumer.subscribe(topics)
    return consumer


ADMIN_BOOTSTRAP_TIMEOUT_MS = 10_000  # an unreachable broker is reported after 10 s, not kafka-python's 30


def make_admin(bootstrap: str, *, client_id: str = "fairsplit-admin", **overrides: Any) -> KafkaAdminClient:
    """An admin client; the commands that create topics start with one, so it is the first to
    find out that no broker answers."""
    config: dict[str, Any] = {"bootstrap_timeout_ms": ADMIN_BOOTSTRAP_TIMEOUT_MS, **overrides}
    return KafkaAdminClient(bootstrap_servers=bootstrap, client_id=client_id, **config)


def ensure_topics(bootstrap: str, names: Iterable[str], partitions: int = 1, *,
                  replication_factor: int = 1, timeout_s: float = 30.0) -> list[str]:
    """Create the topics that do not exist yet; return the names that were created.

    Existing topics are left as they are (their partition count is not changed).
    """
    names = list(dict.fromkeys(names))
    admin = make_admin(bootstrap)
    try:
        missing = [name for name in names if name not in set(admin.list_topics())]
        created = []
        for name in missing:
            try:
                admin.create_topics([NewTopic(name, partitions, replication_factor)])
                created.append(name)
            except TopicAlreadyExistsError:
                pass
        deadline = time.monotonic() + timeout_s
        while set(names) - set(admin.list_topics()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics {sorted(set(names) - set(admin.list_topics()))} did not appear in metadata")
            time.sleep(0.1)
        return created
    finally:
        admin.close()
