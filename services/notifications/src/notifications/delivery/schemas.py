"""Schemas of the delivery operations (replay, queue counts)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from aftersales_shared.schemas import StrictModel


class ReplayIn(StrictModel):
    since: datetime | None = Field(None, description="only deliveries that failed at or after this instant")
    kind: Annotated[str, Field(max_length=64)] | None = None
    ids: list[int] | None = Field(None, max_length=1000)
    limit: int = Field(1000, ge=1, le=10000)


class ReplayRead(BaseModel):
    replayed: int


class QueueRead(BaseModel):
    counts: dict[str, int]
