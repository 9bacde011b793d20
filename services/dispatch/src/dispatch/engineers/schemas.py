"""Bodies of the engineers API."""

from __future__ import annotations

from datetime import date as date_
from datetime import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from aftersales_shared.schemas import BusinessDate, ReadModel, StrictModel

from ..fields import Id, Latitude, Longitude, Name, Reason, RegionCode

TimeOfDay = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["08:00"])]
"""A time of day "HH:MM" (Asia/Shanghai, no offset)."""


def hhmm(t: time | str) -> str:
    return t.strftime("%H:%M") if isinstance(t, time) else t


class ShiftIn(StrictModel):
    weekday: int = Field(ge=0, le=6)
    start_min: int = Field(ge=0, lt=1440)
    end_min: int = Field(gt=0, le=2880)


class AbsenceIn(StrictModel):
    """Days off, both ends included, inside the business range."""

    from_: BusinessDate = Field(alias="from")
    to: BusinessDate

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)

    @model_validator(mode="after")
    def _ordered(self) -> AbsenceIn:
        if self.to < self.from_:
            raise ValueError("an absence ends on or after the day it starts ('to' >= 'from')")
        return self


class EngineerUpsert(StrictModel):
    """Create or replace an engineer (``PUT /v1/engineers/{id}``)."""

    name: Name
    employer: Literal["manufacturer", "dealer"]
    dealer_id: Id | None = Field(None, validate_default=True)
    skills: dict[Id, Annotated[int, Field(ge=0, le=5)]] = Field(min_length=1, max_length=50,
                                                                description="product line -> level 0..5")
    zones: list[RegionCode] = Field(min_length=1, max_length=500)
    home_lat: Latitude
    home_lon: Longitude
    shifts: list[ShiftIn] = Field(default_factory=list, max_length=50)
    absences: list[AbsenceIn] = Field(default_factory=list, max_length=100)
    max_jobs: int = Field(3, ge=1, le=50)
    active: bool = True
    shift_start: TimeOfDay = Field("08:00", description="the day a plan may use starts (Asia/Shanghai)")
    shift_end: TimeOfDay = Field("18:00", description="latest return (Asia/Shanghai), after shift_start")

    @model_validator(mode="after")
    def _shift(self) -> EngineerUpsert:
        if not self.shift_start < self.shift_end:  # zero-padded HH:MM: text order is time order
            raise ValueError("shift_end must be after shift_start")
        return self

    @field_validator("dealer_id")
    @classmethod
    def _dealer(cls, v: str | None, info: ValidationInfo) -> str | None:
        if "employer" in info.data and (info.data["employer"] == "dealer") != bool(v):
            raise ValueError("dealer_id is required exactly when the employer is a dealer")
        return v


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
    shift_start: TimeOfDay
    shift_end: TimeOfDay


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
    shift_start: TimeOfDay
    shift_end: TimeOfDay

    @field_validator("shift_start", "shift_end", mode="before")
    @classmethod
    def _hhmm(cls, v: time | str) -> str:
        return hhmm(v)


class AbsenceRecord(StrictModel):
    """An engineer absent for a day (``POST /v1/engineers/{id}/absences``): the zone-days the engineer's work
    touches that day are re-planned."""

    date: BusinessDate
    reason: Reason


class AbsenceRead(BaseModel):
    engineer_id: str
    date: date_
    reason: str
    replans: list[str] = Field(description="zones whose plan of the day is requested again (debounced)")
