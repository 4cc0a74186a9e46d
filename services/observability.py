"""Structured logs (JSON lines through `logging`) and Prometheus metrics for the services."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

__all__ = ["JsonFormatter", "configure_logging", "StreamMetrics"]

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and every `extra=` field."""

    def __init__(self, service: str | None = None) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.service:
            line["service"] = self.service
        line.update({key: value for key, value in record.__dict__.items() if key not in _STANDARD})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def configure_logging(service: str | None = None, level: int | str = logging.INFO) -> None:
    """Send the root logger's records to stderr as JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("kafka").setLevel(logging.WARNING)


class StreamMetrics:
    """The metrics of one stream, in their own registry (several streams may share a process).

    `port` starts an HTTP endpoint for Prometheus to scrape this registry.
    """

    BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

    def __init__(self, service: str, registry: CollectorRegistry | None = None, port: int | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.service = service

        def metric(kind, name: str, doc: str, **kwargs):
            return kind(name, doc, ["service"], registry=self.registry, **kwargs).labels(service=service)

        self.processed = metric(Counter, "fairsplit_messages_processed", "Messages whose effect is committed")
        self.failed = metric(Counter, "fairsplit_messages_failed", "Messages that could not be processed")
        self.dead_lettered = metric(Counter, "fairsplit_messages_dead_lettered", "Messages written to a DLQ topic")
        self.retried = metric(Counter, "fairsplit_messages_retried", "Transient failures retried")
        self.latency = metric(Histogram, "fairsplit_message_latency_seconds", "Record timestamp to commit",
                              buckets=self.BUCKETS)
        self.batch_seconds = metric(Histogram, "fairsplit_batch_processing_seconds", "Time to process one batch",
                                    buckets=self.BUCKETS)
        self.lag = Gauge("fairsplit_consumer_lag", "Highwater minus position, per partition",
                         ["service", "topic", "partition"], registry=self.registry)
        self.server = start_http_server(port, registry=self.registry) if port is not None else None

    def set_lag(self, topic: str, partition: int, lag: int) -> None:
        self.lag.labels(service=self.service, topic=topic, partition=str(partition)).set(lag)

    def value(self, name: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(name, {"service": self.service, **labels})
