"""Platform metrics (HTTP and event bus), labelled by service; one registry per process."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request latency", ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
HTTP_IN_FLIGHT = Gauge("http_requests_in_flight", "HTTP requests being handled", ["service"])

OUTBOX_PENDING = Gauge("outbox_pending_rows", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "outbox_oldest_pending_age_seconds", "Age of the oldest unpublished outbox row", ["service"]
)
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Events published by the relay", ["service"])
OUTBOX_FAILED = Counter("outbox_publish_failures_total", "Relay publish attempts that failed", ["service"])
RELAY_ACTIVE = Gauge("outbox_relay_active", "1 when this process holds the relay lock", ["service"])

CONSUMED = Counter(
    "consumer_events_total", "Events handled by consumers", ["service", "consumer", "outcome"]
)
HANDLER_LATENCY = Histogram(
    "consumer_handler_duration_seconds", "Consumer handler latency (one unit of work)",
    ["service", "consumer"], buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
CONSUMER_LAG = Gauge("consumer_lag_messages", "Messages behind the partition end", ["service", "consumer", "topic"])
CONSUMER_RETRYING = Gauge(
    "consumer_retrying_partitions", "Partitions paused while their consumer waits out a transient fault",
    ["service", "consumer"],
)
TRANSIENT_RETRIES = Counter(
    "consumer_transient_retries_total", "Handler attempts that failed transiently (database/broker away)",
    ["service", "consumer"],
)
DEPENDENCY_UP = Gauge("service_dependency_up", "1 when the dependency answered its last check",
                      ["service", "dependency"])
DLQ_REPLAYED = Counter("consumer_dead_letters_replayed_total", "Dead letters re-published to their topic",
                       ["service"])
DLQ_MESSAGES = Counter("consumer_dead_letters_total", "Messages sent to a dead-letter topic", ["service", "consumer"])
GROUP_COMMIT_BATCH = Histogram("group_commit_batch_size", "Requests written per group-commit batch", ["path"],
                               buckets=(1, 2, 4, 8, 16, 32, 64))
