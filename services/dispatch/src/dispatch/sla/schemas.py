"""Bodies of the SLA configuration API: zones, service centres, calendars, policies."""

from __future__ import annotations

from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, field_validator, model_validator

from aftersales_shared.schemas import ReadModel, StrictModel

ZoneClass = Literal["in_zone", "urban", "county", "remote"]


class ZoneUpsert(StrictModel):
    name: str = Field(min_length=1, max_length=100)
    zone_class: ZoneClass
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)


class ZoneRead(ReadModel):
    region_code: str
    name: str
    zone_class: str
    lat: float | None
    lon: float | None


class ServiceCentreUpsert(StrictModel):
    name: str = Field(min_length=1, max_length=100)
    dealer_id: str | None = Field(None, max_length=40)
    region_code: str = Field(pattern=r"^\d{6}$")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class ServiceCentreRead(ReadModel):
    id: str
    name: str
    dealer_id: str | None
    region_code: str
    lat: float
    lon: float


class CalendarUpsert(StrictModel):
    tz: str = Field("Asia/Shanghai", max_length=64)
    always_open: bool = False
    intervals: list[tuple[int, int]] = Field(default_factory=lambda: [(480, 720), (780, 1020)], max_length=12)
    use_statutory: bool = True
    weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4], max_length=7)
    overrides: dict[date, bool] = Field(default_factory=dict, max_length=400)

    @field_validator("tz")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except Exception as exc:  # noqa: BLE001
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, v: list[int]) -> list[int]:
        if any(d < 0 or d > 6 for d in v):
            raise ValueError("weekdays are 0 (Monday) .. 6 (Sunday)")
        return sorted(set(v))

    @model_validator(mode="after")
    def _intervals(self) -> CalendarUpsert:
        prev = -1
        for a, b in self.intervals:
            if not (0 <= a < b <= 1440) or a < prev:
                raise ValueError("intervals are sorted, non-overlapping [start, end) minutes with end <= 1440")
            prev = b
        if not self.always_open and not self.intervals:
            raise ValueError("a service-hours calendar needs intervals")
        return self


class CalendarSaved(BaseModel):
    code: str
    recomputed_jobs: int


class PolicyUpsert(StrictModel):
    contract_code: str | None = Field(None, max_length=40)
    zone_class: ZoneClass
    calendar_code: str = Field(min_length=1, max_length=40)
    respond_minutes: int = Field(gt=0, le=60 * 24 * 30)
    arrive_minutes: int = Field(gt=0, le=60 * 24 * 30)
    resolve_minutes: int = Field(gt=0, le=60 * 24 * 60)
    resolve_from: Literal["opened", "arrived"] = "arrived"
    warn_fractions: list[float] = Field(default_factory=lambda: [0.5, 0.8], max_length=5)

    @field_validator("warn_fractions")
    @classmethod
    def _fr(cls, v: list[float]) -> list[float]:
        if any(not (0 < f < 1) for f in v):
            raise ValueError("fractions lie strictly between 0 and 1")
        return sorted(set(v))


class PolicySaved(BaseModel):
    id: str
    recomputed_jobs: int


class PolicyRead(ReadModel):
    id: str
    contract_code: str | None
    zone_class: str
    calendar_code: str
    respond_minutes: int
    arrive_minutes: int
    resolve_minutes: int
    resolve_from: str
    warn_fractions: list[float]

    @field_validator("contract_code", mode="before")
    @classmethod
    def _default_is_none(cls, v: str | None) -> str | None:
        return v or None  # the default policy is stored with contract "" and read as null
