"""Integration events dispatch consumes: each handler runs in one unit of work with the inbox row."""

from aftersales_shared.app import ConsumerSpec
from aftersales_shared.config import ServiceSettings


def consumer_specs(settings: ServiceSettings) -> list[ConsumerSpec]:
    """The consumer groups of the dispatch service."""
    return []
