"""The integration-event envelope (DESIGN.md §5) and the registry of every event type."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .. import clock
from ..ids import new_id


class Payload(BaseModel):
    """Base of event payloads: frozen, unknown fields ignored so producers can add fields."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class IntegrationEvent(BaseModel):
    """An event one service publishes for others; subclasses fix type, version, topic and payload."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = ""

    event_id: UUID = Field(default_factory=new_id)
    type: str = ""
    version: int = 1
    occurred_at: datetime = Field(default_factory=clock.now)
    producer: str = ""
    aggregate_id: str
    correlation_id: str | None = None
    payload: Any

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.TYPE:
            registry.register(cls)

    def model_post_init(self, _ctx: Any) -> None:
        # type/version always reflect the class, so a payload can never masquerade as another type
        object.__setattr__(self, "type", self.TYPE or self.type)
        object.__setattr__(self, "version", self.VERSION)
        if not self.producer and self.TYPE:
            object.__setattr__(self, "producer", self.TYPE.split(".", 1)[0])

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("occurred_at must be timezone-aware")
        return v.astimezone(UTC)

    def to_json(self) -> str:
        """Serialise the whole envelope."""
        return self.model_dump_json()


def define_event(name: str, type_: str, topic: str, payload: type[Payload], module: str) -> type[IntegrationEvent]:
    """Declare an event class whose payload is shared with sibling events (registered like any other)."""
    return type(name, (IntegrationEvent,), {
        "TYPE": type_, "TOPIC": topic, "__annotations__": {"payload": payload}, "__module__": module,
    })


def topic_for(service: str, aggregate: str, major: int = 1) -> str:
    """Topic naming rule: ``<service>.<aggregate>.v<major>``."""
    return f"{service}.{aggregate}.v{major}"


class EventRegistry:
    """Maps ``type`` (and major version) to its event class; parses raw messages."""

    def __init__(self) -> None:
        self._by_type: dict[tuple[str, int], type[IntegrationEvent]] = {}

    def register(self, cls: type[IntegrationEvent]) -> None:
        self._by_type[(cls.TYPE, cls.VERSION)] = cls

    def get(self, type_: str, version: int = 1) -> type[IntegrationEvent] | None:
        return self._by_type.get((type_, version))

    def all(self) -> list[type[IntegrationEvent]]:
        return sorted(self._by_type.values(), key=lambda c: (c.TYPE, c.VERSION))

    def parse(self, raw: bytes | str) -> IntegrationEvent:
        """Parse a message into its typed event; raises ValueError for unknown or malformed data."""
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("event is not a JSON object")
        cls = self.get(str(data.get("type")), int(data.get("version", 1)))
        if cls is None:
            raise LookupError(f"unknown event type {data.get('type')!r} v{data.get('version')}")
        return cls.model_validate(data)

    def topics_of(self, producer_prefix: str) -> set[str]:
        return {c.TOPIC for c in self.all() if c.TOPIC.startswith(producer_prefix + ".")}


registry = EventRegistry()
