"""Bodies of the SLA configuration API: zones, service centres, calendars, policies."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from aftersales_shared.money import Money
from aftersales_shared.schemas import BusinessDate, ReadModel, StrictModel

from ..fields import Id, Latitude, Longitude, Name, RegionCode

ZoneClass = Literal["in_zone", "urban", "county", "remote"]


class ZoneUpsert(StrictModel):
    name: Name
    zone_class: ZoneClass
    lat: Latitude | None = None
    lon: Longitude | None = None


class ZoneRead(ReadModel):
    region_code: str
    name: str
    zone_class: str
    lat: float | None
    lon: float | None


class ServiceCentreUpsert(StrictModel):
    name: Name
    dealer_id: Id | None = None
    region_code: RegionCode
    lat: Latitude
    lon: Longitude


class ServiceCentreRead(ReadModel):
    id: str
    name: str
    dealer_id: str | None
    region_code: str
    lat: float
    lon: float


TimeZone = Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_+\-/]+$", examples=["Asia/Shanghai"])]
Minute = Annotated[int, Field(ge=0, le=1440)]


class CalendarUpsert(StrictModel):
    """A business calendar: 24x7, or service-hour intervals on working days (statutory holidays, weekdays,
    per-date overrides inside the business range). It must leave working time in every week, so that every
    deadline and the SLA scan can be computed."""

    tz: TimeZone = "Asia/Shanghai"
    always_open: bool = False
    intervals: list[tuple[Minute, Minute]] = Field(default_factory=lambda: [(480, 720), (780, 1020)],
                                                   max_length=12)
    use_statutory: bool = True
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(default_factory=lambda: [0, 1, 2, 3, 4],
                                                              max_length=7)
    overrides: dict[BusinessDate, bool] = Field(default_factory=dict, max_length=400)

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
    def _weekdays(cls, v: list[int], info: ValidationInfo) -> list[int]:
        # 0 (Monday) .. 6 (Sunday); beyond the statutory calendar's last year only the weekdays decide
        if not v and not info.data.get("always_open"):
            raise ValueError("a service-hours calendar needs at least one weekday")
        return sorted(set(v))

    @field_validator("intervals")
    @classmethod
    def _intervals(cls, v: list[tuple[int, int]], info: ValidationInfo) -> list[tuple[int, int]]:
        if not v and not info.data.get("always_open"):
            raise ValueError("a service-hours calendar needs intervals")
        prev = -1
        for a, b in v:
            if not a < b or a < prev:
                raise ValueError("intervals are sorted, non-overlapping [start, end) minutes with end <= 1440")
            prev = b
        return v


class CalendarSaved(BaseModel):
    code: str
    recomputed_jobs: int


class PolicyUpsert(StrictModel):
    contract_code: Id | None = None
    zone_class: ZoneClass
    calendar_code: Id
    respond_minutes: int = Field(gt=0, le=60 * 24 * 30)
    arrive_minutes: int = Field(gt=0, le=60 * 24 * 30)
    resolve_minutes: int = Field(gt=0, le=60 * 24 * 60)
    resolve_from: Literal["opened", "arrived"] = "arrived"
    warn_fractions: list[Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)]] = Field(
        default_factory=lambda: [0.5, 0.8], max_length=5)
    unserved_cost: Money = Field(Decimal("500"), description="what leaving a job unserved costs a plan (issue 14)")
    spare_entitled: bool = Field(False, description="the contract entitles a spare unit when the resolve deadline "
                                                    "is at risk (R-S6, issue 16)")

    @field_validator("warn_fractions")
    @classmethod
    def _fr(cls, v: list[float]) -> list[float]:
        return sorted(set(v))  # strictly between 0 and 1


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
    unserved_cost: Money
    spare_entitled: bool = False

    @field_validator("contract_code", mode="before")
    @classmethod
    def _default_is_none(cls, v: str | None) -> str | None:
        return v or None  # the default policy is stored with contract "" and read as null
