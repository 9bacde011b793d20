"""Notifications metrics: deliveries by channel and outcome, provider errors, event -> accepted latency."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

DELIVERIES = Counter(
    "notifications_deliveries_total", "Delivery moves by channel and outcome "
    "(sent, failed, retried, failover, held, opted_out, delivered, undelivered, replayed)", ["channel", "outcome"])
PROVIDER_ERRORS = Counter("notifications_provider_errors_total", "Failed sends per provider", ["channel", "provider"])
PROVIDER_SENT = Counter("notifications_provider_sent_total", "Accepted sends per provider", ["channel", "provider"])
LATENCY = Histogram(
    "notifications_event_to_accepted_seconds", "From the event's occurred_at to the provider accepting the message",
    ["channel"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600, 43200))
REPLIES = Counter("notifications_replies_total", "Inbound replies by kind", ["kind"])


OUTCOMES = ("sent", "failed", "retried", "failover", "held", "opted_out", "delivered", "undelivered", "replayed")
REPLY_KINDS = ("opt_out", "rating", "complaint", "other")


def prime(providers_by_channel: dict[str, list[str]]) -> None:
    """Create every series at zero when the service starts, so a dashboard or an alert sees "no failures yet" as
    0, not as "no data" (an absent series hides a provider that has never failed — or never sent)."""
    for channel, providers in providers_by_channel.items():
        LATENCY.labels(channel)
        for outcome in OUTCOMES:
            DELIVERIES.labels(channel, outcome)
        for provider in providers:
            PROVIDER_ERRORS.labels(channel, provider)
            PROVIDER_SENT.labels(channel, provider)
    for kind in REPLY_KINDS:
        REPLIES.labels(kind)
