"""What a consumer group rebalance does to a stream: the loop is told of revoked partitions
(it flushes what is held for them, outside a batch, and forgets their committed-offset
marks) and of assigned ones (a new ownership starts a new run of increasing commits)."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from kafka.consumer.subscription_state import ConsumerRebalanceListener

log = logging.getLogger("fairsplit.stream")


class Revocable(Protocol):
    def on_revoked(self, revoked: Any) -> None: ...
    def on_assigned(self, assigned: Any) -> None: ...


class Rebalance(ConsumerRebalanceListener):
    def __init__(self, loop: Revocable) -> None:
        self.loop = loop

    def on_partitions_revoked(self, revoked) -> None:
        self.loop.on_revoked(revoked)

    def on_partitions_assigned(self, assigned) -> None:
        log.info("partitions assigned", extra={"partitions": sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned)})
        self.loop.on_assigned(assigned)
