"""Event envelope, registry and the per-service event contracts."""

from .envelope import IntegrationEvent, registry, topic_for

__all__ = ["IntegrationEvent", "registry", "topic_for"]

# Import every producer's contracts so the registry knows all event types.
from . import dispatch, parts, settlement, ticketing  # noqa: E402,F401
