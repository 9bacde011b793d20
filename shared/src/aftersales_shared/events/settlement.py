"""Integration events published by the settlement service (topics settlement.<aggregate>.v1)."""

from __future__ import annotations

from .envelope import IntegrationEvent, Payload, topic_for  # noqa: F401

PRODUCER = "settlement"
