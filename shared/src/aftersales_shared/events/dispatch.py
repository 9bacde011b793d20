"""Integration events published by the dispatch service (topics dispatch.<aggregate>.v1)."""

from __future__ import annotations

from .envelope import IntegrationEvent, Payload, topic_for  # noqa: F401

PRODUCER = "dispatch"
