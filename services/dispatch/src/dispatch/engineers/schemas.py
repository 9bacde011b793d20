"""Bodies of the engineers API."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aftersales_shared.schemas import ReadModel, StrictModel


class ShiftIn(StrictModel):
    weekday: int = Field(ge=0, le=6)
    start_min: int = Field(ge=0, lt=1440)
    end_min: int = Field(gt=0, le=2880)


class AbsenceIn(StrictModel):
    from_: date = Field(alias="from")
    to: date

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)


class EngineerUpsert(StrictModel):
    """Create or replace an engineer (``PUT /v1/engineers/{id}``)."""

    name: str = Field(min_length=1, max_length=100)
    employer: Literal["manufacturer", "dealer"]
    dealer_id: str | None = Field(None, max_length=40)
    skills: dict[str, int] = Field(min_length=1, max_length=50)
    zones: list[str] = Field(min_length=1, max_length=500)
    home_lat: float = Field(ge=-90, le=90)
    home_lon: float = Field(ge=-180, le=180)
    shifts: list[ShiftIn] = Field(default_factory=list, max_length=50)
    absences: list[AbsenceIn] = Field(default_factory=list, max_length=100)
    max_jobs: int = Field(3, ge=1, le=50)
    active: bool = True

    @model_validator(mode="after")
    def _dealer(self) -> EngineerUpsert:
        if (self.employer == "dealer") != bool(self.dealer_id):
            raise ValueError("dealer_id is required exactly when the employer is a dealer")
        if any(not (0 <= lvl <= 5) for lvl in self.skills.values()):
            raise ValueError("skill levels are 0..5")
        return self


class EngineerSaved(BaseModel):
    """What a PUT stored: the body as sent, with the id."""

    id: str
    name: str
    employer: str
    dealer_id: str | None
    skills: dict[str, int]
    zones: list[str]
    home_lat: float
    home_lon: float
    shifts: list[dict[str, Any]]
    absences: list[dict[str, Any]]
    max_jobs: int
    active: bool


class EngineerRead(ReadModel):
    id: str
    name: str
    employer: str
    dealer_id: str | None
    skills: dict[str, int]
    zones: list[str]
    max_jobs: int
    active_jobs: int
    active: bool
    last_lat: float | None
    last_lon: float | None
