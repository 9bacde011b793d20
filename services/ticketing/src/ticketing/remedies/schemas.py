"""Bodies of the remedies API: what the agent or engineer asks for, and the remedy carried out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator

from aftersales_shared.schemas import StrictModel

from ..domain.remedy_lifecycle import SHIPS_NEW_UNIT, RemedyKind
from ..fields import LINE_CODE_PATTERN, Component, Reason, Serial

UnitPartNo = Annotated[str, Field(pattern=LINE_CODE_PATTERN, description="a catalogue part number (40 characters)")]


class RemedyCreate(StrictModel):
    """Carry out a remedy on the ticket's unit. ``new_serial``: the unit shipped in its place (exchange, unit
    replacement; required there, refused otherwise). ``component``: the component replaced (component replacement;
    default the ticket's component). ``unit_part_no``: the catalogue number parts ships for a whole unit (default:
    the product line code)."""

    kind: RemedyKind
    reason: Reason
    new_serial: Serial | None = None
    component: Component | None = None
    unit_part_no: UnitPartNo | None = None

    @model_validator(mode="after")
    def _fits_kind(self) -> RemedyCreate:
        if (self.kind in SHIPS_NEW_UNIT) != (self.new_serial is not None):
            raise ValueError("new_serial is required for an exchange or a unit replacement, and only there")
        if self.component is not None and self.kind != "component_replacement":
            raise ValueError("component names the part of a component replacement only")
        return self


class RemedyRead(BaseModel):
    id: str
    kind: str
    rule: str
    status: str
    ticket_id: str
    serial: str
    new_serial: str | None
    component: str | None
    warranty: str | None = Field(description="the new unit's warranty: inherited (remaining cover) or fresh")
    reason: str
    rights: dict[str, Any] = Field(description="the offer that allowed it: rule and reason, on the day")
    actor: str
    completed_on: date
    created_at: datetime
    old_unit_repairs: list[dict[str, Any]] = Field(
        default_factory=list, description="the retired unit's repair history, linked to the new unit")


class RemedyList(BaseModel):
    items: list[RemedyRead]
