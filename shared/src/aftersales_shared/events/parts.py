"""Integration events published by the parts service (topics parts.<aggregate>.v1)."""

from __future__ import annotations

from .envelope import IntegrationEvent, Payload, topic_for  # noqa: F401

PRODUCER = "parts"
